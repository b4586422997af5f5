# svg.awk: a grouped horizontal bar chart as SVG, from lines
#   GROUP<TAB>SERIES<TAB>VALUE
# (groups and series keep their order of first appearance).
#   awk -F'\t' -v title=T -v xlabel=X [-v xmin=A] [-v xmax=B] [-v logscale=1]
#       [-v ref=1] [-v reflabel=floor] -f bench/svg.awk DATA > FILE.svg
# xmin/xmax default to the data's range (0 for a linear axis when all
# values are positive); logscale=1 draws a logarithmic axis; ref draws a dashed
# reference line. Every bar is labelled with its value.

function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
function tx(v) {
	if (v < lo) v = lo
	if (v > hi) v = hi
	if (logscale) return left + (plotw * (logf(v) - logf(lo)) / (logf(hi) - logf(lo)))
	return left + plotw * (v - lo) / (hi - lo)
}
function logf(v) { return log(v) / log(10) }
function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.3f", v) }

BEGIN { ng = 0; ns = 0; n = 0 }

NF >= 3 && $3 != "" {
	if (!($1 in gi)) { gi[$1] = ng; gname[ng++] = $1 }
	if (!($2 in si)) { si[$2] = ns; sname[ns++] = $2 }
	val[gi[$1], si[$2]] = $3 + 0
	has[gi[$1], si[$2]] = 1
	if (n == 0 || $3 + 0 < dmin) dmin = $3 + 0
	if (n == 0 || $3 + 0 > dmax) dmax = $3 + 0
	n++
}

END {
	split("#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #8c564b #e377c2 #7f7f7f #17becf #bcbd22", color, " ")
	if (n == 0) { print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>"; exit }
	lo = xmin != "" ? xmin + 0 : (logscale ? dmin / 1.5 : (dmin > 0 ? 0 : dmin))
	hi = xmax != "" ? xmax + 0 : (logscale ? dmax * 1.5 : dmax * 1.08)
	if (ref != "" && ref + 0 > hi) hi = ref * 1.05
	if (hi <= lo) hi = lo + 1
	left = 200; plotw = 560; barh = 11; gap = 10; top = 58 + 16 * int((ns + 3) / 4)
	width = left + plotw + 70
	height = top + ng * (ns * barh + gap) + 50
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", width, height
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	printf "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", 10, esc(title)
	for (s = 0; s < ns; s++) {
		x = 10 + (s % 4) * 190; y = 40 + 16 * int(s / 4)
		printf "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"%s\"/>", x, y - 9, color[s % 10 + 1]
		printf "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 16, y, esc(sname[s])
	}
	# grid and axis labels
	bottom = top + ng * (ns * barh + gap)
	nt = 0
	if (logscale) {
		for (e = int(logf(lo)) - 1; e <= int(logf(hi)) + 1; e++)
			for (m = 1; m <= 5; m += (m == 1 ? 1 : 3)) {
				v = m * 10 ^ e
				if (v >= lo && v <= hi) tick[nt++] = v
			}
	} else {
		step = (hi - lo) / 8
		p = 10 ^ int(logf(step)); if (step < 1) p = 10 ^ (int(logf(step)) - 1)
		step = step <= p ? p : step <= 2 * p ? 2 * p : step <= 5 * p ? 5 * p : 10 * p
		for (v = int(lo / step) * step; v <= hi + step / 1000; v += step)
			if (v >= lo - step / 1000) tick[nt++] = v
	}
	for (t = 0; t < nt; t++) {
		x = tx(tick[t])
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>", x, top - 4, x, bottom
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n", x, bottom + 14, fmt(tick[t]) + 0
	}
	printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", left + plotw / 2, bottom + 32, esc(xlabel)
	for (g = 0; g < ng; g++) {
		y0 = top + g * (ns * barh + gap)
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, y0 + ns * barh / 2 + 4, esc(gname[g])
		for (s = 0; s < ns; s++) {
			if (!has[g, s]) continue
			v = val[g, s]; x0 = tx(lo); x1 = tx(v)
			printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s: %s</title></rect>", x0, y0 + s * barh, (x1 > x0 ? x1 - x0 : 0.5), barh - 1, color[s % 10 + 1], esc(gname[g]), esc(sname[s]), fmt(v)
			printf "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" fill=\"#333\">%s</text>\n", x1 + 3, y0 + s * barh + barh - 2, fmt(v)
		}
	}
	if (ref != "") {
		x = tx(ref + 0)
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\" stroke-dasharray=\"4,3\"/>", x, top - 6, x, bottom
		printf "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%s</text>\n", x + 3, top - 8, esc(reflabel)
	}
	print "</svg>"
}
