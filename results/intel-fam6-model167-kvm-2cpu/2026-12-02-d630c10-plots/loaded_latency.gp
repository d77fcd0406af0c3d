set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'loaded_latency.svg'
$loaded_latency_0 << EOD
0 276.45
2.42662 351.256
5.13653 289.582
12.4548 296.752
17.7191 292.593
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
