set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 236.448
22.5 238.003
896 142.916
4871 34.9861
65536 7.74585
EOD
$bandwidth_1 << EOD
16 212.635
22.5 212.512
896 53.0542
4871 13.5479
65536 5.35896
EOD
$bandwidth_2 << EOD
16 416.563
22.5 418.617
896 82.16
4871 25.7427
65536 7.51405
EOD
$bandwidth_3 << EOD
16 8.48308
22.5 11.5936
896 14.9192
4871 14.0377
65536 15.9649
EOD
$bandwidth_4 << EOD
16 383.154
22.5 462.863
896 274.668
4871 62.6862
65536 18.6312
EOD
$bandwidth_5 << EOD
16 412.098
22.5 270.87
896 90.8153
4871 27.0236
65536 10.0155
EOD
$bandwidth_6 << EOD
16 511.052
22.5 506.576
896 141.969
4871 43.3306
65536 15.0856
EOD
$bandwidth_7 << EOD
16 16.5093
22.5 23.0028
896 29.5453
4871 29.7147
65536 37.6768
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
