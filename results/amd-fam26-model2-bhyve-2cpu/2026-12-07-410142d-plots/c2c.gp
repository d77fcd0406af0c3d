set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'c2c.svg'
$c2c << EOD
NaN 201.247
206.091 NaN
EOD
set title 'core-to-core one-way latency, AMD EPYC (bhyve guest)'
set xlabel 'to CPU'
set ylabel 'from CPU'
set cblabel 'one-way ns'
set xtics ('0' 0, '1' 1)
set ytics ('0' 0, '1' 1)
set yrange [1.5:-0.5]
set xrange [-0.5:1.5]
set palette rgbformulae 33,13,10
set size ratio -1
plot $c2c matrix with image notitle
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'c2c.png'
replot
