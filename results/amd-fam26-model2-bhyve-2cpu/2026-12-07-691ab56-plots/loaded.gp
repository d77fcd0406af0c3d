set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'loaded.svg'
$loaded_0 << EOD
0 179.263
8.86631 185.554
25.2992 188.896
44.1634 185.444
64.9507 190.08
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
