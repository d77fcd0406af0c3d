set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 268.478
2 134.786
4 68.1268
6 44.9813
8 33.3207
10 26.4656
12 24.1445
16 19.3984
20 17.1214
24 15.8128
32 14.9668
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
