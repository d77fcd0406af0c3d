set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "bandwidth.svg"
$bandwidth_0 << EOD
16 205.518
512 102.182
16384 62.5216
131072 26.2474
EOD
$bandwidth_1 << EOD
16 91.9149
512 106.981
16384 67.436
131072 22.6019
EOD
$bandwidth_2 << EOD
16 209.036
512 104.366
16384 56.2777
131072 19.8836
EOD
$bandwidth_3 << EOD
16 22.1794
512 25.6688
16384 26.6392
131072 26.0112
EOD
$bandwidth_4 << EOD
16 366.374
512 205.096
16384 83.6872
131072 32.053
EOD
$bandwidth_5 << EOD
16 219.911
512 202.316
16384 63.0483
131072 25.5643
EOD
$bandwidth_6 << EOD
16 447.391
512 213.657
16384 80.7682
131072 32.8879
EOD
$bandwidth_7 << EOD
16 27.6801
512 28.0003
16384 28.0897
131072 27.1221
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
