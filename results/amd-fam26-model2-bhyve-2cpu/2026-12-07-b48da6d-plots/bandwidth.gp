set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 320.566
22.5 328.948
448 143.426
2048 84.0635
65536 31.1422
EOD
$bandwidth_1 << EOD
16 199.501
22.5 189.089
448 165.476
2048 83.821
65536 24.5368
EOD
$bandwidth_2 << EOD
16 334.873
22.5 324.58
448 163.21
2048 87.1993
65536 34.6544
EOD
$bandwidth_3 << EOD
16 28.8705
22.5 29.3849
448 35.4866
2048 36.4318
65536 35.4936
EOD
$bandwidth_4 << EOD
16 511.502
22.5 601.798
448 277.995
2048 159.906
65536 57.0444
EOD
$bandwidth_5 << EOD
16 367.394
22.5 332.673
448 298.751
2048 160.736
65536 53.1892
EOD
$bandwidth_6 << EOD
16 600.379
22.5 587.92
448 310.077
2048 168.163
65536 67.9433
EOD
$bandwidth_7 << EOD
16 58.8665
22.5 61.0338
448 73.9768
2048 76.4994
65536 73.8204
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
