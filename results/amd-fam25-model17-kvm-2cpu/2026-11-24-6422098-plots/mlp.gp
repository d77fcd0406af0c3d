set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "mlp.svg"
$mlp_0 << EOD
1 169.379
2 81.9065
4 40.9981
6 27.4384
8 20.4359
10 16.4552
12 13.782
16 10.9875
20 8.60952
24 8.19712
32 8.1092
EOD
set title "memory-level parallelism, AMD EPYC (KVM guest)" noenhanced
set logscale y 10
set xlabel 'independent chains k'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $mlp_0 using 1:2 with linespoints pt 7 ps 0.7 title "DRAM"
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output "mlp.png"
replot
