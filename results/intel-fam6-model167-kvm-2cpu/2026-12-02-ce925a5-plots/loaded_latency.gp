set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'loaded_latency.svg'
$loaded_latency_0 << EOD
0 272.053
2.7735 289.128
5.60942 293.094
14.1504 305.178
17.9606 334.984
EOD
set title 'loaded latency, Intel(R) Xeon(R) Processor (KVM guest)' noenhanced
set xlabel 'background read GB/s'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $loaded_latency_0 using 1:2 with linespoints pt 7 ps 0.7 title 'DRAM chase'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'loaded_latency.png'
replot
