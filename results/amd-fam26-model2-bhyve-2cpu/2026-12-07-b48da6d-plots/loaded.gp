set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'loaded.svg'
$loaded_0 << EOD
0 193.146
10.1928 196.957
26.2055 196.817
47.9109 203.58
60.4743 236.156
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
