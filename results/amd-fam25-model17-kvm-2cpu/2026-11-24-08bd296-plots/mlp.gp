set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "mlp.svg"
$mlp_0 << EOD
1 169.169
2 81.5789
4 40.6616
6 27.1426
8 20.5156
10 16.4716
12 13.6989
16 10.3484
20 8.42243
24 7.91214
32 8.05494
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
