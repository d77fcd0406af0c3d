set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "loaded_latency.svg"
$loaded_latency_0 << EOD
0 167.723
7.69538 209.676
13.3494 245.621
19.254 296.393
24.9067 300.642
EOD
set title "loaded latency, AMD EPYC (KVM guest)" noenhanced
set xlabel 'background read GB/s'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $loaded_latency_0 using 1:2 with linespoints pt 7 ps 0.7 title "DRAM chase"
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output "loaded_latency.png"
replot
