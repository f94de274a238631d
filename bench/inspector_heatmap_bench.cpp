// statescope-bench-inspector-heatmap: the decay heatmap (widgets/inspector/decay_heatmap.h) on an
// 8k-token x 1.5k-channel matrix, offscreen: time from handing the matrix over to a finished
// picture (min/max binning to the plot's pixels, filling the QCPColorMap, replot), then a pan of
// the zoomed view frame by frame (each frame re-bins the visible range and replots). One JSON line
// with the command, CPU, load average and commit.
//   QT_QPA_PLATFORM=offscreen statescope-bench-inspector-heatmap [--tokens 8192] [--channels 1536]
//       [--size 1200x700] [--frames 60] [--repeats 5] [--out FILE]
#include <qcustomplot.h>
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/inspector_bench_support.h"
#include "widgets/inspector/decay_heatmap.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    using statescope::bench::median;
    const statescope::bench::InspectorArgs args(
        argc, argv, {"--tokens", "--channels", "--frames", "--repeats", "--out", "--size"});
    const long tokens = args.number("--tokens", 8192), channels = args.number("--channels", 1536),
               frames = args.number("--frames", 60), repeats = args.number("--repeats", 5);
    const QString out = args.text("--out"), size = args.text("--size");
    long w = 1200, h = 700;
    if (!size.isNull()) {
        w = size.section('x', 0, 0).toLong();
        h = size.section('x', 1, 1).toLong();
    }
    // decay-like values in (0, 1) with structure and a few isolated extremes
    std::vector<float> m(std::size_t(tokens * channels));
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> noise(0.0f, 0.05f);
    for (long t = 0; t < tokens; ++t)
        for (long c = 0; c < channels; ++c)
            m[std::size_t(t * channels + c)] =
                0.5f + 0.4f * std::sin(0.001f * float(t) + 0.01f * float(c)) + noise(rng);
    m[std::size_t(5000 * channels + 700)] = 0.0f;

    statescope::widgets::DecayHeatmap view;
    view.resize(int(w), int(h));
    view.show();
    app.processEvents();
    QCustomPlot* plot = view.plot();

    // first picture: bin + fill + replot (rpImmediateRefresh draws now, not on the next event)
    std::vector<double> first;
    for (long r = 0; r < repeats; ++r) {
        QElapsedTimer clock;
        clock.start();
        view.setMatrix(m.data(), tokens, channels, "bench");
        plot->replot(QCustomPlot::rpImmediateRefresh);
        first.push_back(double(clock.nsecsElapsed()) / 1e6);
    }
    const bool extreme_kept = view.bins().min == 0.0f;

    // pan: zoomed to 2000 tokens, shift by 40 tokens a frame; each frame re-bins and replots
    plot->xAxis->setRange(0, 2000);
    view.rebin();
    std::vector<double> frame;
    for (long f = 0; f < frames; ++f) {
        QElapsedTimer clock;
        clock.start();
        plot->xAxis->moveRange(40);
        view.rebin();
        plot->replot(QCustomPlot::rpImmediateRefresh);
        frame.push_back(double(clock.nsecsElapsed()) / 1e6);
    }

    QJsonObject j;
    j["bench"] = "inspector-heatmap";
    j["tokens"] = double(tokens);
    j["channels"] = double(channels);
    j["plot_size"] = QString("%1x%2").arg(w).arg(h);
    j["bins"] = QString("%1x%2").arg(view.bins().nx).arg(view.bins().ny);
    j["first_picture_ms_median"] = median(first);
    j["first_picture_ms_max"] = *std::max_element(first.begin(), first.end());
    j["pan_frame_ms_median"] = median(frame);
    j["pan_frame_ms_max"] = *std::max_element(frame.begin(), frame.end());
    j["extreme_kept"] = extreme_kept;
    return statescope::bench::print_inspector_result(j, argc, argv, out);
}
