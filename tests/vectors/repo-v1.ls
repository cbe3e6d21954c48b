/tmp

/bin
/bin/report-link
/bin/tool
/docs
/docs/empty
/docs/empty.txt
/docs/report.txt
/docs/scan-hardlink.bin
/docs/scan.bin
