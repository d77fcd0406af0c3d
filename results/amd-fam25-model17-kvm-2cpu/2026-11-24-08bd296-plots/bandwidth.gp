set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "bandwidth.svg"
$bandwidth_0 << EOD
16 191.189
512 99.6383
16384 68.1043
131072 27.7341
EOD
$bandwidth_1 << EOD
16 101.876
512 87.425
16384 55.2416
131072 25.1554
EOD
$bandwidth_2 << EOD
16 195.912
512 99.7895
16384 47.5552
131072 17.9798
EOD
$bandwidth_3 << EOD
16 20.403
512 23.0538
16384 21.749
131072 22.5458
EOD
$bandwidth_4 << EOD
16 372.927
512 203.44
16384 65.5721
131072 30.0947
EOD
$bandwidth_5 << EOD
16 172.015
512 169.295
16384 37.419
131072 21.3811
EOD
$bandwidth_6 << EOD
16 369.716
512 194.898
16384 49.9652
131072 26.5113
EOD
$bandwidth_7 << EOD
16 27.4542
512 27.2218
16384 26.6662
131072 26.9139
EOD
set title "sequential bandwidth, AMD EPYC (KVM guest)" noenhanced
set logscale x 2
set format x '%.0f'
set xlabel 'working set per thread (KiB)'
set ylabel 'GB/s (1e9 bytes/s)'
set grid xtics ytics
set key top left
plot $bandwidth_0 using 1:2 with linespoints pt 7 ps 0.7 title "read 1 thread(s)", $bandwidth_1 using 1:2 with linespoints pt 7 ps 0.7 title "write 1 thread(s)", $bandwidth_2 using 1:2 with linespoints pt 7 ps 0.7 title "copy 1 thread(s)", $bandwidth_3 using 1:2 with linespoints pt 7 ps 0.7 title "nt-write 1 thread(s)", $bandwidth_4 using 1:2 with linespoints pt 7 ps 0.7 title "read 2 thread(s)", $bandwidth_5 using 1:2 with linespoints pt 7 ps 0.7 title "write 2 thread(s)", $bandwidth_6 using 1:2 with linespoints pt 7 ps 0.7 title "copy 2 thread(s)", $bandwidth_7 using 1:2 with linespoints pt 7 ps 0.7 title "nt-write 2 thread(s)"
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output "bandwidth.png"
replot
