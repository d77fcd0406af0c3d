set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 270.99
2 135.775
4 68.2047
6 45.8273
8 34.0156
10 27.453
12 24.0817
16 19.598
20 17.3049
24 15.7276
32 14.9336
EOD
set title 'memory-level parallelism, Intel(R) Xeon(R) Processor (KVM guest)' noenhanced
set logscale y 10
set xlabel 'independent chains k'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $mlp_0 using 1:2 with linespoints pt 7 ps 0.7 title 'DRAM'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'mlp.png'
replot
