set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 204.274
2 91.0815
4 44.869
6 28.1521
8 21.0017
10 16.7003
12 14.2136
16 10.7578
20 8.5806
24 7.69358
32 8.5494
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
