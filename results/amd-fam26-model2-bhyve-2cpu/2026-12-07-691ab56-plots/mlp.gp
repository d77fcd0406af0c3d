set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 183.834
2 89.129
4 44.6263
6 28.5427
8 21.8813
10 17.3205
12 15.643
16 11.0898
20 8.69508
24 7.7069
32 8.00059
EOD
set title 'memory-level parallelism, AMD EPYC (bhyve guest)' noenhanced
set logscale y 10
set xlabel 'independent chains k'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $mlp_0 using 1:2 with linespoints pt 7 ps 0.7 title 'DRAM'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'mlp.png'
replot
