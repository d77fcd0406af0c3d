set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 237.505
22.5 240.751
896 147.573
4871 32.9576
65536 11.3066
EOD
$bandwidth_1 << EOD
16 212.675
22.5 217.914
896 52.3828
4871 20.2753
65536 6.54248
EOD
$bandwidth_2 << EOD
16 426.349
22.5 428.226
896 82.6039
4871 29.7041
65536 8.98569
EOD
$bandwidth_3 << EOD
16 9.02685
22.5 10.2741
896 15.2497
4871 15.4517
65536 15.8272
EOD
$bandwidth_4 << EOD
16 477.273
22.5 471.622
896 269.76
4871 62.1532
65536 18.9134
EOD
$bandwidth_5 << EOD
16 426.562
22.5 289.993
896 81.5562
4871 28.9007
65536 11.5917
EOD
$bandwidth_6 << EOD
16 809.01
22.5 830.185
896 149.215
4871 43.6628
65536 15.6692
EOD
$bandwidth_7 << EOD
16 16.4815
22.5 20.1295
896 27.744
4871 28.2136
65536 28.3499
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
