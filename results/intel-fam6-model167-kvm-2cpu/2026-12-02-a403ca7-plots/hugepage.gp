set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.51229
512 5.00293
4096 44.3452
27554.5 268.524
220436 460.909
EOD
$hugepage_thp << EOD
128 4.63638
512 5.01245
4096 45.9825
27554.5 215.361
220436 261.479
EOD
$hugepage_hugetlb_2m << EOD
128 4.50626
512 5.00054
4096 53.0656
27554.5 300.207
220436 276.093
EOD
$hugepage_hugetlb_1g << EOD
128 4.49846
512 5.01246
4096 42.9797
27554.5 266.305
220436 288.111
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
