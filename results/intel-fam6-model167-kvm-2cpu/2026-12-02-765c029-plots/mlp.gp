set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 262.532
2 132.352
4 66.9747
6 44.1702
8 32.5537
10 26.1802
12 23.4825
16 19.0914
20 16.7656
24 15.3143
32 14.691
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
