set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.74255
512 5.31679
4096 56.1203
19484 322.594
155872 585.081
EOD
$hugepage_thp << EOD
128 4.6906
512 5.27771
4096 46.2195
19484 239.945
155872 279.2
EOD
$hugepage_hugetlb_2m << EOD
128 4.70333
512 5.27892
4096 47.9904
19484 271.864
155872 286.253
EOD
$hugepage_hugetlb_1g << EOD
128 4.6748
512 5.23459
4096 45.0776
19484 260.662
155872 275.389
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
