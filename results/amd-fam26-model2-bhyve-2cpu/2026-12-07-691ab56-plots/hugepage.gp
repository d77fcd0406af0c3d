set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.19
256 4.3802
2048 17.6483
8192 154.916
65536 251.754
262144 336.71
1.04858e+06 446.346
EOD
$hugepage_thp << EOD
128 4.24891
256 4.26383
2048 16.3556
8192 145.812
65536 211.231
262144 272.909
1.04858e+06 416.551
EOD
$hugepage_hugetlb_2m << EOD
128 4.07797
256 4.1526
2048 15.5113
8192 136.85
65536 200.576
262144 284.095
1.04858e+06 427.665
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
