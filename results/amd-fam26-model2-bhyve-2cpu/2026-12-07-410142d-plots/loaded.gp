set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'loaded.svg'
$loaded_0 << EOD
0 175.341
11.742 181.102
30.4137 187.825
61.3737 190.345
81.5249 181.366
EOD
set title 'loaded latency, AMD EPYC (bhyve guest)' noenhanced
set xlabel 'background read GB/s'
set ylabel 'ns per load'
set grid xtics ytics
set key top left
plot $loaded_0 using 1:2 with linespoints pt 7 ps 0.7 title 'DRAM chase'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'loaded.png'
replot
