set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'bandwidth.svg'
$bandwidth_0 << EOD
16 317.783
22.5 325.333
448 146.603
2896 79.7042
65536 25.9458
EOD
$bandwidth_1 << EOD
16 182.279
22.5 177.815
448 164.134
2896 84.4272
65536 25.1666
EOD
$bandwidth_2 << EOD
16 301.694
22.5 305.701
448 160.123
2896 84.1308
65536 37.1058
EOD
$bandwidth_3 << EOD
16 29.8555
22.5 31.7883
448 37.8632
2896 39.0652
65536 36.6817
EOD
$bandwidth_4 << EOD
16 641.415
22.5 628.987
448 317.815
2896 158.649
65536 57.5889
EOD
$bandwidth_5 << EOD
16 374
22.5 245.78
448 321.595
2896 167.525
65536 65.3283
EOD
$bandwidth_6 << EOD
16 811.357
22.5 747.262
448 394.443
2896 173.076
65536 88.5376
EOD
$bandwidth_7 << EOD
16 54.9956
22.5 63.3084
448 68.6178
2896 72.5622
65536 71.0486
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
