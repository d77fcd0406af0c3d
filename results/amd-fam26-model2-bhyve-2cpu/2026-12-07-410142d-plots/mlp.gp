set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 170.769
2 84.4958
4 42.9779
6 29.2097
8 21.7732
10 17.6182
12 14.554
16 11.0161
20 8.67949
24 7.40349
32 6.29095
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
