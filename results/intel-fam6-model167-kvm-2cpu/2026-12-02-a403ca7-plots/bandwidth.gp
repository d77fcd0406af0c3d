set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 244.646
22.5 248.354
896 153.097
6888.5 32.8834
65536 10.9448
EOD
$bandwidth_1 << EOD
16 217.924
22.5 218.899
896 51.1612
6888.5 20.6929
65536 6.54369
EOD
$bandwidth_2 << EOD
16 434.458
22.5 431.044
896 84.6648
6888.5 29.4672
65536 9.41366
EOD
$bandwidth_3 << EOD
16 13.3127
22.5 15.482
896 17.2454
6888.5 18.735
65536 20.9533
EOD
$bandwidth_4 << EOD
16 496.38
22.5 508.68
896 258.919
6888.5 56.9207
65536 22.4827
EOD
$bandwidth_5 << EOD
16 440.61
22.5 330.618
896 101.765
6888.5 47.9285
65536 12.592
EOD
$bandwidth_6 << EOD
16 875.126
22.5 792.667
896 143.998
6888.5 52.5024
65536 17.6302
EOD
$bandwidth_7 << EOD
16 20.6754
22.5 23.1069
896 33.3675
6888.5 32.7925
65536 33.3361
EOD
set title 'sequential bandwidth, Intel(R) Xeon(R) Processor (KVM guest)' noenhanced
set logscale x 2
set format x '%.0f'
set xlabel 'working set per thread (KiB)'
set ylabel 'GB/s (1e9 bytes/s)'
set grid xtics ytics
set key top left
plot $bandwidth_0 using 1:2 with linespoints pt 7 ps 0.7 title 'read 1 thread(s)', $bandwidth_1 using 1:2 with linespoints pt 7 ps 0.7 title 'write 1 thread(s)', $bandwidth_2 using 1:2 with linespoints pt 7 ps 0.7 title 'copy 1 thread(s)', $bandwidth_3 using 1:2 with linespoints pt 7 ps 0.7 title 'nt-write 1 thread(s)', $bandwidth_4 using 1:2 with linespoints pt 7 ps 0.7 title 'read 2 thread(s)', $bandwidth_5 using 1:2 with linespoints pt 7 ps 0.7 title 'write 2 thread(s)', $bandwidth_6 using 1:2 with linespoints pt 7 ps 0.7 title 'copy 2 thread(s)', $bandwidth_7 using 1:2 with linespoints pt 7 ps 0.7 title 'nt-write 2 thread(s)'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'bandwidth.png'
replot
