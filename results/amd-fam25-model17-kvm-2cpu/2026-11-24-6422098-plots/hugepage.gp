set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "hugepage.svg"
$hugepage_4k << EOD
128 3.8596
512 4.90746
16384 154.69
65536 159.792
524288 333.643
EOD
$hugepage_thp << EOD
128 3.9034
512 5.24905
16384 143.011
65536 154.67
524288 189.295
EOD
$hugepage_hugetlb_2m << EOD
128 3.8597
512 5.46337
16384 151.253
65536 159.173
524288 178.56
EOD
$hugepage_hugetlb_1g << EOD
128 3.88864
512 4.8699
16384 149.567
65536 163.341
524288 221.674
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
