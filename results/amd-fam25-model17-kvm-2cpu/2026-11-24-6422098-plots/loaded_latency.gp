set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "loaded_latency.svg"
$loaded_latency_0 << EOD
0 171.332
8.08165 220.364
15.0574 245.565
21.756 259.273
28.2988 286.096
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
