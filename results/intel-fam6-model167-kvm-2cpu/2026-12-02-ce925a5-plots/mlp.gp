set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'mlp.svg'
$mlp_0 << EOD
1 272.777
2 136.617
4 69.3439
6 46.8568
8 34.522
10 27.4643
12 24.4387
16 20.2301
20 17.7843
24 16.0415
32 15.0282
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
