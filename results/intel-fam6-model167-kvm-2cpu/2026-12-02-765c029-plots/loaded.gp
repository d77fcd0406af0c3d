set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'loaded.svg'
$loaded_0 << EOD
0 261.412
3.32075 278.765
13.7789 270.805
21.1031 268.436
27.6938 267.406
EOD
set title 'loaded latency, Intel(R) Xeon(R) Processor (KVM guest)' noenhanced
set xlabel 'background read GB/s'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $loaded_0 using 1:2 with linespoints pt 7 ps 0.7 title 'DRAM chase'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'loaded.png'
replot
