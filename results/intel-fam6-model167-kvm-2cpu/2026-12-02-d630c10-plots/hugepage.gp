set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.65224
512 5.21653
4096 48.5925
19484 298.321
155872 451.984
EOD
$hugepage_thp << EOD
128 4.58147
512 5.13254
4096 50.9941
19484 270.115
155872 269.69
EOD
$hugepage_hugetlb_2m << EOD
128 4.61375
512 5.15343
4096 45.7471
19484 266.695
155872 273.856
EOD
$hugepage_hugetlb_1g << EOD
128 4.59548
512 5.13791
4096 44.1653
19484 264.17
155872 272.274
EOD
set title 'huge pages: random chase, verified backing only, Intel(R) Xeon(R) Processor (KVM guest)' noenhanced
set logscale x 2
set logscale y 10
set grid xtics ytics mytics
set xlabel 'working set (KiB)'
set ylabel 'ns per load'
set key top left
set format x '%.0f'
plot $hugepage_4k using 1:2 with linespoints pt 7 ps 0.8 title '4k pages', $hugepage_thp using 1:2 with linespoints pt 7 ps 0.8 title 'thp pages', $hugepage_hugetlb_2m using 1:2 with linespoints pt 7 ps 0.8 title 'hugetlb-2m pages', $hugepage_hugetlb_1g using 1:2 with linespoints pt 7 ps 0.8 title 'hugetlb-1g pages'
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output 'hugepage.png'
replot
