// What the offscreen GUI tests share: the tiny golden models (tests/data/golden, random weights and
// real configs), a studio window on a scratch session store, screenshots under the build folder
// (tests/gui/screenshots) for a person to look at, and main(). tests/gui/CMakeLists.txt defines
// STATESCOPE_GOLDEN_DIR and STATESCOPE_SCREENSHOT_DIR for every test through statescope_gui_test().
#pragma once

#include <QApplication>
#include <QDir>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "app/studio/main_window.h"
#include "app/studio/studio_app.h"

namespace statescope::gui_test {

// A golden model folder by name: "mamba-neox", "mamba-tiny", "llama-tiny", "nemotron_h-tiny", ...
inline QString golden_model(const QString& name) {
    return QStringLiteral(STATESCOPE_GOLDEN_DIR "/") + name;
}

// The model the studio starts on in these tests: a Mamba with the real GPT-NeoX tokenizer.
inline QString demo_model() {
    return golden_model("mamba-neox");
}

// A shown MainWindow of `size` on a fresh session store in `dir`, with QSettings in Qt's test
// folder and cleared, once the demo model has loaded (or 30 s have passed: check hasModel()).
inline std::unique_ptr<studio::MainWindow> open_studio(const QTemporaryDir& dir, QSize size) {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
    studio::StudioOptions options;
    options.db_path = dir.filePath("sessions.db");
    options.model = demo_model();
    auto window = std::make_unique<studio::MainWindow>(options);
    window->resize(size);
    window->show();
    (void)QTest::qWaitFor([&] { return window->hasModel(); }, 30000);  // the caller checks
    return window;
}

// Saves what `widget` shows as screenshots/NAME.png once layouts have settled for `settle_ms`.
inline bool save_screenshot(QWidget* widget, const QString& name, int settle_ms = 60) {
    QDir().mkpath(STATESCOPE_SCREENSHOT_DIR);
    QTest::qWait(settle_ms);
    return widget->grab().save(QStringLiteral(STATESCOPE_SCREENSHOT_DIR "/%1.png").arg(name),
                               "PNG");
}

}  // namespace statescope::gui_test

// main() of a GUI test: the offscreen platform unless QT_QPA_PLATFORM says otherwise, the studio's
// application set-up (names, icon, style), then the QtTest slots of `TestClass`.
#define STATESCOPE_GUI_TEST_MAIN(TestClass)                 \
    int main(int argc, char** argv) {                       \
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) \
            qputenv("QT_QPA_PLATFORM", "offscreen");        \
        QApplication app(argc, argv);                       \
        statescope::studio::init_application();             \
        TestClass test;                                     \
        return QTest::qExec(&test, argc, argv);             \
    }
