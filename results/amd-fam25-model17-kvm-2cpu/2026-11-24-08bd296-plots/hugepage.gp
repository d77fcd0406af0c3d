set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "hugepage.svg"
$hugepage_4k << EOD
128 4.03942
512 6.2084
16384 155.284
65536 179.864
524288 239.007
EOD
$hugepage_thp << EOD
128 3.87042
512 4.8504
16384 138.448
65536 156.199
524288 177.352
EOD
$hugepage_hugetlb_2m << EOD
128 3.84355
512 4.86057
16384 131.763
65536 155.748
524288 187.136
EOD
$hugepage_hugetlb_1g << EOD
128 3.85617
512 4.85939
16384 145.189
65536 159.172
524288 177.247
EOD
set title "huge pages: random chase, verified backing only, AMD EPYC (KVM guest)" noenhanced
set logscale x 2
set logscale y 10
set grid xtics ytics mytics
set xlabel 'working set (KiB)'
set ylabel 'ns per load'
set key top left
set format x '%.0f'
plot $hugepage_4k using 1:2 with linespoints pt 7 ps 0.8 title "4k pages", $hugepage_thp using 1:2 with linespoints pt 7 ps 0.8 title "thp pages", $hugepage_hugetlb_2m using 1:2 with linespoints pt 7 ps 0.8 title "hugetlb-2m pages", $hugepage_hugetlb_1g using 1:2 with linespoints pt 7 ps 0.8 title "hugetlb-1g pages"
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output "hugepage.png"
replot
