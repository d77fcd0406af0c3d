set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 252.465
22.5 258.861
768 162.367
8192 29.2008
65536 28.6729
EOD
$bandwidth_1 << EOD
16 224.79
22.5 224.326
768 56.3975
8192 27.6637
65536 19.7371
EOD
$bandwidth_2 << EOD
16 431.314
22.5 445.62
768 85.224
8192 32.4563
65536 24.003
EOD
$bandwidth_3 << EOD
16 10.2817
22.5 14.7192
768 20.3988
8192 20.6839
65536 19.5227
EOD
$bandwidth_4 << EOD
16 493.792
22.5 505.777
768 316.429
8192 61.241
65536 40.8236
EOD
$bandwidth_5 << EOD
16 448.916
22.5 373.219
768 113.152
8192 55.183
65536 13.2713
EOD
$bandwidth_6 << EOD
16 877.482
22.5 896.147
768 182.208
8192 57.4222
65536 35.4794
EOD
$bandwidth_7 << EOD
16 21.0597
22.5 23.0493
768 40.136
8192 40.6906
65536 41.0608
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
