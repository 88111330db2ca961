// Inline SVG charts for the HTML report (report_html.cpp): drawn here, no script, no outside
// resources. Each function returns one <svg> element, or "" when there is nothing to draw (the
// caller then says so in words, so no chart is ever empty).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slipway/monitor/drift.h"

namespace slipway::monitor::report_svg {

std::string escape(std::string_view text);  // HTML / XML text and attribute values

// Reference and current distributions over the same bins: numeric histograms overlaid as
// densities (bins may differ in width), categories as paired bars of their shares.
std::string distribution(const DriftHistogram& histogram, bool numeric);

struct Series {
  std::string name;
  std::vector<double> x;  // time in microseconds (time axis) or position
  std::vector<double> y;  // NaN: no point (the line breaks)
  std::vector<double> lo, hi;  // optional error bars, same length as y when present
  bool dashed = false;
};

struct LineChart {
  std::vector<Series> series;
  std::string y_label;
  std::optional<double> y_min, y_max;  // axis range forced to include these
  std::vector<std::pair<double, std::string>> rules;  // horizontal reference lines (value, label)
  bool bars = false;  // the first series drawn as columns (e.g. drift share per bucket)
  double bar_width = 0;  // in x units
};

// x is time: ticks at whole seconds / minutes / hours / days, labelled in UTC.
std::string time_chart(const LineChart& chart);

struct Bar {
  std::string label;
  double value = 0;
  std::string note;  // shown after the value ("120 labelled")
  bool highlight = false;
};
// Horizontal bars, in the order given.
std::string bar_chart(const std::vector<Bar>& bars, const std::string& value_label);

struct Interval {
  std::string label;
  double mean = 0, lo = 0, hi = 0;  // lo / hi NaN: no interval
  std::string note;
};
// A dot per row with its 95% interval as a whisker.
std::string interval_chart(const std::vector<Interval>& rows, const std::string& value_label);

// The colour of series i (a colour-blind-safe palette), and the reference / current colours.
const char* colour(size_t i);
inline constexpr const char* kReferenceColour = "#4e79a7";
inline constexpr const char* kCurrentColour = "#f28e2b";

}  // namespace slipway::monitor::report_svg
