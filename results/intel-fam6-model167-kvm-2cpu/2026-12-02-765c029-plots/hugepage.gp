set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output 'hugepage.svg'
$hugepage_4k << EOD
128 4.50872
512 5.01234
8192 55.8513
32768 266.765
262144 443.379
EOD
$hugepage_thp << EOD
128 4.4951
512 5.01518
8192 49.7492
32768 248.172
262144 265.356
EOD
$hugepage_hugetlb_2m << EOD
128 4.50447
512 5.00715
8192 53.365
32768 246.023
262144 268.699
EOD
$hugepage_hugetlb_1g << EOD
128 4.50658
512 5.02397
8192 59.9699
32768 253.418
262144 270.019
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
