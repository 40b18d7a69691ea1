import Foundation

/// Minimal inline-SVG charts for the HTML report: no scripts, no network,
/// fixed size, readable when printed. Every chart is an `<svg class="chart
/// KIND">`; bars are `rect.bar`, lines `path.series`, points `circle`.
public enum SVGChart {
    /// Series colours. No pure red: a regression is marked by a black ring
    /// (`markerColor`), which no series shares.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#aec7e8"]
    public static let markerColor = "#000000"

    /// One colour per series name for a whole page: a name keeps its colour
    /// in every chart (handed out in order of first use).
    public final class ColorBook {
        var assigned: [String: Int] = [:]
        public init() {}
        /// The colour and whether lines of it are dashed (past the palette).
        public func color(_ name: String) -> (color: String, dashed: Bool) {
            let i = assigned[name] ?? { let n = assigned.count; assigned[name] = n; return n }()
            return (palette[i % palette.count], i >= palette.count)
        }
    }

    public struct Bar {
        public var label: String
        public var value: Double
        public var low: Double?
        public var high: Double?
        public var text: String
        /// Fill; nil: the palette by rank.
        public var color: String? = nil
    }

    /// Horizontal bars on a log axis (transports span four decades), with
    /// min-max whiskers and the value written at the end of each bar.
    public static func bars(kind: String, title: String, unit: String, _ bars: [Bar]) -> String {
        let rowHeight = 22.0, left = 230.0, width = 720.0, plot = width - left - 90
        let height = 40 + rowHeight * Double(bars.count) + 30
        let positive = bars.flatMap { [$0.value, $0.low ?? $0.value, $0.high ?? $0.value] }.filter { $0 > 0 }
        guard let lo = positive.min(), let hi = positive.max() else { return "" }
        let axis = LogAxis(lo: lo, hi: hi)
        func x(_ v: Double) -> Double { left + plot * axis.position(v) }
        var svg = open(kind: kind, width: width, height: height, title: title)
        for tick in axis.ticks {
            svg += line(x(tick), 34, x(tick), height - 26, cls: "grid")
            svg += text(x(tick), height - 12, compact(tick), anchor: "middle", cls: "tick")
        }
        svg += text(width - 8, height - 12, unit, anchor: "end", cls: "tick")
        for (i, bar) in bars.enumerated() {
            let y = 40 + rowHeight * Double(i)
            svg += text(left - 6, y + 14, bar.label, anchor: "end", cls: "label")
            guard bar.value > 0 else { continue }
            svg += String(format: "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"><title>%@</title></rect>",
                          left, y + 3, max(1, x(bar.value) - left), rowHeight - 6, bar.color ?? palette[i % palette.count], escape(bar.label + ": " + bar.text))
            if let low = bar.low, let high = bar.high, low > 0, high > low {
                svg += line(x(low), y + rowHeight / 2, x(high), y + rowHeight / 2, cls: "whisker")
            }
            svg += text(x(max(bar.value, bar.high ?? 0)) + 4, y + 15, bar.text, anchor: "start", cls: "value")
        }
        return svg + "</svg>\n"
    }

    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Indices of points drawn as regression markers (black rings).
        public var marked: Set<Int> = []
        /// Colour and dashing; nil: the palette by rank.
        public var style: (color: String, dashed: Bool)? = nil
    }

    /// Lines over a numeric x axis with given tick labels; y on a log axis.
    /// Tick labels are thinned to what fits (about one per 80 px).
    public static func lines(kind: String, title: String, yUnit: String, xTicks: [(Double, String)], xLabel: String,
                             logY: Bool = true, yFormat: (Double) -> String, _ series: [Series]) -> String {
        let width = 720.0, height = 350.0, left = 70.0, right = 190.0, top = 48.0, bottom = 50.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) } + xTicks.map(\.0)
        let ys = series.flatMap { $0.points.map(\.y) }.filter { $0 > 0 }
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { return "" }
        let yAxis: any Axis = logY ? LogAxis(lo: y0, hi: y1) : LinearAxis(lo: 0, hi: y1)
        func px(_ x: Double) -> Double { left + plotW * (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) }
        func py(_ y: Double) -> Double { top + plotH * (1 - yAxis.position(y)) }
        var svg = open(kind: kind, width: width, height: height, title: title)
        for tick in yAxis.ticks {
            svg += line(left, py(tick), left + plotW, py(tick), cls: "grid")
            svg += text(left - 6, py(tick) + 4, yFormat(tick), anchor: "end", cls: "tick")
        }
        let every = max(1, Int((Double(xTicks.count) * 80 / plotW).rounded(.up)))
        for (k, (x, label)) in xTicks.enumerated() {
            svg += line(px(x), top, px(x), top + plotH, cls: "grid")
            // Every `every`-th label, and the last: labels must not overlap.
            if k % every == 0 || k == xTicks.count - 1 && (k % every) * 2 >= every {
                svg += text(px(x), top + plotH + 16, label, anchor: "middle", cls: "tick")
            }
        }
        svg += text(left + plotW / 2, height - 8, xLabel, anchor: "middle", cls: "label")
        svg += text(8, top - 12, yUnit, anchor: "start", cls: "label")
        for (i, s) in series.enumerated() {
            let color = s.style?.color ?? palette[i % palette.count]
            let points = s.points.filter { $0.y > 0 }
            guard !points.isEmpty else { continue }
            let d = points.enumerated().map { j, p in String(format: "%@%.1f,%.1f", j == 0 ? "M" : "L", px(p.x), py(p.y)) }.joined(separator: " ")
            // Past the palette, lines repeat colours dashed.
            let dash = (s.style?.dashed ?? (i >= palette.count)) ? " stroke-dasharray=\"6 3\"" : ""
            svg += "<path class=\"series\" d=\"\(d)\" stroke=\"\(color)\"\(dash)><title>\(escape(s.name))</title></path>"
            for (j, p) in s.points.enumerated() where p.y > 0 {
                let marked = s.marked.contains(j)
                // A regression: the series' point inside a black ring.
                if marked {
                    svg += String(format: "<circle class=\"point regression\" cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\" fill=\"none\" stroke=\"%@\" stroke-width=\"2\"><title>%@</title></circle>",
                                  px(p.x), py(p.y), markerColor, escape("\(s.name): \(yFormat(p.y)) (regressed)"))
                }
                svg += String(format: "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%@\"><title>%@</title></circle>",
                              px(p.x), py(p.y), marked ? 3.5 : 2.5, color, escape("\(s.name): \(yFormat(p.y))"))
            }
            let ly = top + 14 * Double(i) + 6
            svg += line(left + plotW + 12, ly, left + plotW + 30, ly, cls: "legend", stroke: color).replacingOccurrences(of: "/>", with: dash + "/>")
            svg += text(left + plotW + 34, ly + 4, String(s.name.prefix(28)), anchor: "start", cls: "legend")
        }
        return svg + "</svg>\n"
    }

    /// Axis labels: 100 k, 2 M, 1 G.
    public static func compact(_ x: Double) -> String {
        for (scale, suffix) in [(1e9, " G"), (1e6, " M"), (1e3, " k")] where x >= scale {
            return String(format: "%g", (x / scale * 100).rounded() / 100) + suffix
        }
        return String(format: "%g", x)
    }

    static func open(kind: String, width: Double, height: Double, title: String) -> String {
        String(format: "<svg class=\"chart %@\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">",
               kind, width, height, width, height)
            + "<title>\(escape(title))</title>" + text(8, 18, title, anchor: "start", cls: "title")
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, cls: String, stroke: String? = nil) -> String {
        String(format: "<line class=\"%@\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%@/>", cls, x1, y1, x2, y2,
               stroke.map { " stroke=\"\($0)\"" } ?? "")
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, cls: String) -> String {
        String(format: "<text class=\"%@\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%@\">", cls, x, y, anchor) + escape(s) + "</text>"
    }

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

protocol Axis {
    func position(_ v: Double) -> Double
    var ticks: [Double] { get }
}

/// Decades from below `lo` to above `hi`, ticks at 1, 2 and 5 when few decades.
struct LogAxis: Axis {
    let lo: Double, hi: Double
    init(lo: Double, hi: Double) {
        self.lo = pow(10, floor(log10(lo)))
        self.hi = max(pow(10, ceil(log10(hi))), self.lo * 10)
    }
    func position(_ v: Double) -> Double { (log10(max(v, lo)) - log10(lo)) / (log10(hi) - log10(lo)) }
    var ticks: [Double] {
        let decades = Int((log10(hi) - log10(lo)).rounded())
        var out: [Double] = []
        var d = lo
        while d <= hi * 1.0001 {
            out.append(d)
            if decades <= 2 { for m in [2.0, 5.0] where d * m < hi { out.append(d * m) } }
            d *= 10
        }
        return out
    }
}

struct LinearAxis: Axis {
    let lo: Double, hi: Double
    func position(_ v: Double) -> Double { hi > lo ? (v - lo) / (hi - lo) : 0 }
    var ticks: [Double] { (0...4).map { lo + (hi - lo) * Double($0) / 4 } }
}
