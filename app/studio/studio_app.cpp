#include "app/studio/studio_app.h"

#include <QApplication>
#include <QEventLoop>
#include <QIcon>
#include <QPixmap>
#include <QTimer>
#include <cstdio>

#include "app/studio/compare_view.h"
#include "app/studio/engine_types.h"
#include "app/studio/inspector_controller.h"
#include "app/studio/main_window.h"
#include "widgets/inspector/inspector_data.h"

// The icons are compiled into statescope_studio, a static library: nothing references the rcc
// object, so the linker would drop it and ":/statescope/..." would not resolve. Q_INIT_RESOURCE
// keeps it (and must be called outside any namespace).
static void init_statescope_resources() {
    Q_INIT_RESOURCE(statescope);
}

namespace statescope::studio {

void init_application() {
    init_statescope_resources();
    QCoreApplication::setOrganizationName("statescope");
    QCoreApplication::setApplicationName("statescope");
    QCoreApplication::setApplicationVersion(STATESCOPE_VERSION);
    QGuiApplication::setDesktopFileName("io.github.statescope.Statescope");
    QApplication::setWindowIcon(QIcon(":/statescope/icons/statescope.svg"));
    qRegisterMetaType<GenerationRequest>();
    qRegisterMetaType<ReplyStats>();
    qRegisterMetaType<LoadedModel>();
    qRegisterMetaType<AnalysisRequest>();
    qRegisterMetaType<widgets::InspectorData>();
}

namespace {

// Runs the event loop until `done` is set or the time is up.
bool wait_for(bool& done, int timeout_ms) {
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    timer.start(timeout_ms);
    QTimer poll;
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done) loop.quit();
    });
    poll.start(20);
    if (!done) loop.exec();
    return done;
}

bool save_shot(QApplication& app, MainWindow& window, const QString& file) {
    bool settled = false;
    QTimer::singleShot(150, [&] { settled = true; });  // let layouts and the scroll position settle
    wait_for(settled, 1000);
    const QPixmap shot = window.grab();
    if (shot.isNull() || !shot.save(file, "PNG")) {
        std::fprintf(stderr, "statescope: --screenshot: cannot write %s\n",
                     file.toLocal8Bit().constData());
        return false;
    }
    app.processEvents();
    return true;
}

// The compare view after comparing job.compare_models on the prompt: FILE shows the memory plot;
// FILE-loss.png, FILE-decay.png and FILE-probes.png (next to it) the other tabs.
int run_compare_screenshot(QApplication& app, MainWindow& window, const ScreenshotJob& job) {
    CompareView* view = window.compareView();
    window.setView("compare");
    view->setModels(job.compare_models);
    if (!job.prompt.isEmpty()) view->setPrompt(job.prompt);
    view->setMaxNewTokens(int(job.max_new_tokens));
    bool done = false;
    QObject::connect(view, &CompareView::finished, [&] { done = true; });
    view->run();
    if (!wait_for(done, job.timeout_ms)) {
        std::fprintf(stderr,
                     "statescope: --screenshot: the comparison did not finish within %d s\n",
                     job.timeout_ms / 1000);
        return 1;
    }
    for (const auto& m : view->result().models)
        if (!m.error.empty())
            std::fprintf(stderr, "statescope: --screenshot: %s failed: %s\n", m.dir.c_str(),
                         m.error.c_str());
    const QString base =
        job.file.endsWith(".png", Qt::CaseInsensitive) ? job.file.chopped(4) : job.file;
    for (const QString& tab :
         {QStringLiteral("loss"), QStringLiteral("decay"), QStringLiteral("probes")}) {
        view->showTab(tab);
        if (!save_shot(app, window, base + '-' + tab + ".png")) return 1;
    }
    view->showTab("memory");
    return save_shot(app, window, job.file) ? 0 : 1;
}

}  // namespace

int run_screenshot(QApplication& app, MainWindow& window, const ScreenshotJob& job) {
    if (!job.compare_models.isEmpty()) return run_compare_screenshot(app, window, job);
    bool loaded = window.hasModel(), failed = false;
    QString failure;
    QObject::connect(&window, &MainWindow::modelReady, [&] { loaded = true; });
    QObject::connect(&window, &MainWindow::modelLoadFailed, [&](const QString& m) {
        failed = true;
        failure = m;
    });
    bool ready = loaded;
    QObject::connect(&window, &MainWindow::modelReady, [&] { ready = true; });
    QObject::connect(&window, &MainWindow::modelLoadFailed, [&] { ready = true; });
    if (!wait_for(ready, job.timeout_ms) || failed) {
        std::fprintf(stderr, "statescope: --screenshot: the model did not load: %s\n",
                     failure.isEmpty() ? "timed out" : failure.toLocal8Bit().constData());
        return 1;
    }
    if (!job.prompt.isEmpty()) {
        // A fixed seed: the same screenshot every time. (Greedy would do too, but the random-weight
        // demo model then repeats one byte token, which shows as replacement characters.)
        SamplerSettings sampler;
        sampler.temperature = 1.0f;
        sampler.seed = 42;
        window.setSampling(sampler, job.max_new_tokens);
        bool finished = false;
        QObject::connect(&window, &MainWindow::replyFinished, [&] { finished = true; });
        window.sendMessage(job.prompt);
        if (!wait_for(finished, job.timeout_ms)) {
            std::fprintf(stderr, "statescope: --screenshot: no reply within %d s\n",
                         job.timeout_ms / 1000);
            return 1;
        }
    }
    // --view inspector:NAME raises one of the inspector's docks (InspectorController::panelNames)
    const QString view = job.view.section(':', 0, 0), panel = job.view.section(':', 1);
    if (view == "inspector" && window.inspector()) {
        // The analyses run on the engine thread; wait for them to reach the docks.
        bool analysed = false;
        QObject::connect(window.inspector(), &InspectorController::analysisReady,
                         [&] { analysed = true; });
        QObject::connect(
            window.inspector(), &InspectorController::analysisFailed, [&](const QString& m) {
                std::fprintf(stderr, "statescope: --screenshot: the analysis failed: %s\n",
                             m.toLocal8Bit().constData());
                analysed = true;
            });
        window.setView(view);
        if (window.inspector()->busy() && !wait_for(analysed, job.timeout_ms)) {
            std::fprintf(stderr, "statescope: --screenshot: no analysis within %d s\n",
                         job.timeout_ms / 1000);
            return 1;
        }
    }
    window.setView(view);
    if (!panel.isEmpty() && !(window.inspector() && window.inspector()->showPanel(panel))) {
        std::fprintf(stderr, "statescope: --screenshot: no inspector view %s (one of: %s)\n",
                     panel.toLocal8Bit().constData(),
                     InspectorController::panelNames().join(", ").toLocal8Bit().constData());
        return 2;
    }
    bool settled = false;
    QTimer::singleShot(150, [&] { settled = true; });  // let layouts and the scroll position settle
    wait_for(settled, 1000);
    const QPixmap shot = window.grab();
    if (shot.isNull() || !shot.save(job.file, "PNG")) {
        std::fprintf(stderr, "statescope: --screenshot: cannot write %s\n",
                     job.file.toLocal8Bit().constData());
        return 1;
    }
    app.processEvents();
    return 0;
}

}  // namespace statescope::studio
