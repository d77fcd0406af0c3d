set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.15719
256 4.1431
2048 13.7013
8192 138.461
65536 222.56
262144 317.839
1.04858e+06 411.628
4.1943e+06 449.578
EOD
$hugepage_thp << EOD
128 3.93399
256 3.92303
2048 12.9398
8192 130.433
65536 174.825
262144 221.056
1.04858e+06 367.441
4.1943e+06 458.313
EOD
$hugepage_hugetlb_2m << EOD
128 4.0593
256 4.19502
2048 13.6223
8192 125.7
65536 152.048
262144 171.98
1.04858e+06 315.318
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
