set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 305.985
22.5 338.431
448 149.773
1448 90.6508
65536 39.5267
EOD
$bandwidth_1 << EOD
16 190.661
22.5 190.264
448 157.624
1448 93.0179
65536 28.8709
EOD
$bandwidth_2 << EOD
16 418.117
22.5 403.937
448 201.854
1448 105.713
65536 37.1426
EOD
$bandwidth_3 << EOD
16 29.0909
22.5 30.7562
448 38.671
1448 38.8911
65536 36.8082
EOD
$bandwidth_4 << EOD
16 626.389
22.5 671.047
448 325.014
1448 184.89
65536 58.9106
EOD
$bandwidth_5 << EOD
16 336.023
22.5 348.93
448 300.963
1448 172.756
65536 56.3088
EOD
$bandwidth_6 << EOD
16 605.645
22.5 595.436
448 326.342
1448 188.401
65536 73.7395
EOD
$bandwidth_7 << EOD
16 55.5704
22.5 59.4854
448 74.4523
1448 74.1011
65536 70.8327
EOD
set title 'sequential bandwidth, AMD EPYC (bhyve guest)' noenhanced
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
