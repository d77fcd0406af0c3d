set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.27885
256 4.20961
2048 16.9067
11585.2 141.576
65536 195.321
262144 289.685
1.04858e+06 379.002
EOD
$hugepage_thp << EOD
128 3.93565
256 3.9451
2048 13.3381
11585.2 125.213
65536 153.995
262144 258.857
1.04858e+06 332.656
EOD
$hugepage_hugetlb_2m << EOD
128 3.91758
256 3.98579
2048 14.4623
11585.2 130.591
65536 183.312
262144 254.041
1.04858e+06 350.401
EOD
set title 'huge pages: random chase, verified backing only, AMD EPYC (bhyve guest)' noenhanced
set logscale x 2
set logscale y 10
set grid xtics ytics mytics
set xlabel 'working set (KiB)'
set ylabel 'ns per load'
set key top left
set format x '%.0f'
plot $hugepage_4k using 1:2 with linespoints pt 7 ps 0.8 title '4k pages', $hugepage_thp using 1:2 with linespoints pt 7 ps 0.8 title 'thp pages', $hugepage_hugetlb_2m using 1:2 with linespoints pt 7 ps 0.8 title 'hugetlb-2m pages'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'hugepage.png'
replot
