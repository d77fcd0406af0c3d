set terminal svg size 960,600 dynamic enhanced font 'sans,12'
set output "tlb.svg"
$tlb_4k << EOD
8 -0.581318
10 -0.382839
11 -0.350437
13 -0.239616
16 -0.49233
19 -0.335948
23 -0.48614
27 -0.578676
32 -0.23393
38 -0.0420982
45 0.00465827
54 0.00603738
63 0.02398
64 0.167926
72 0.0483048
76 7.06048
81 7.10134
90 7.11978
91 7.1608
108 7.14508
128 7.17926
152 7.11459
181 7.13496
215 7.12984
256 7.12664
304 7.13313
362 7.21751
431 7.10234
512 6.56672
609 8.2528
724 8.28399
861 8.57215
1024 8.24466
1218 8.45233
1448 8.02519
1722 8.89726
2048 8.22145
2304 9.43205
2435 12.7389
2688 21.2903
2896 27.4705
3072 32.2678
3444 43.6942
3456 41.941
3840 51.3463
4096 54.432
4871 88.9895
5793 102.924
6889 115.545
8192 136.771
9742 147.585
11585 158.793
13777 167.772
16384 169.975
EOD
$tlb_thp << EOD
8 -0.587633
10 -0.417588
11 -0.620397
13 -0.512139
16 -0.535773
19 -0.415641
23 -0.494824
27 -0.62244
32 -0.238002
38 -0.0649983
45 -0.00446548
54 -0.011826
63 0.0145092
64 0.00270176
72 3.50305
76 47.3203
81 46.1092
90 48.8811
91 49.1178
108 59.5127
128 62.0474
152 56.9904
181 58.3673
215 55.8792
256 63.164
304 60.5353
362 61.4073
431 61.8622
512 63.0241
EOD
$tlb_hugetlb_2m << EOD
8 -0.558248
10 -0.42043
11 -0.580577
13 -0.263526
16 -0.357054
19 -0.385192
23 -0.486052
27 -0.592374
32 -0.126109
38 -0.0466769
45 0.0497735
54 0.0117036
63 0.0304324
64 0.0596692
72 3.57495
76 49.2972
81 46.2928
90 51.2919
91 50.7246
108 61.4467
128 65.3068
152 58.0273
181 60.5582
215 58.569
256 64.078
304 61.667
362 64.3455
431 60.6882
512 63.0029
EOD
set title "TLB: extra cycles per load over a same-footprint reference, AMD EPYC (KVM guest)" noenhanced
set logscale x 2
set grid xtics ytics
set xlabel 'pages touched (one line each)'
set ylabel 'tlb - reference (cycles per load)'
set key top left
set format x '%.0f'
set arrow 1 from 72, graph 0 to 72, graph 1 nohead dashtype 2 lc rgb 'gray40'
set label 1 "L1 DTLB 4K: 72 entries (CPUID)" at 72, graph 0.97 right rotate by 90 offset -0.5,0 tc rgb 'gray40'
set arrow 2 from 3072, graph 0 to 3072, graph 1 nohead dashtype 2 lc rgb 'gray40'
set label 2 "L2 DTLB 4K: 3072 entries (CPUID)" at 3072, graph 0.97 right rotate by 90 offset -0.5,0 tc rgb 'gray40'
plot $tlb_4k using 1:2 with linespoints pt 7 ps 0.6 title "4k pages", $tlb_thp using 1:2 with linespoints pt 7 ps 0.6 title "thp pages", $tlb_hugetlb_2m using 1:2 with linespoints pt 7 ps 0.6 title "hugetlb-2m pages"
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output "tlb.png"
replot
