// Application set-up shared by the executable and the GUI tests, and the --screenshot driver.
#pragma once

#include <QString>
#include <QStringList>
#include <cstdint>

class QApplication;

namespace statescope::studio {

class MainWindow;

// Names for QSettings and QStandardPaths, the icon, and the metatypes the worker's signals carry.
void init_application();

struct ScreenshotJob {
    QString file;
    QString prompt;  // empty: no message is sent
    QString view = "chat";
    // view "compare": these models are compared on `prompt` before the shot (2-4 folders).
    QStringList compare_models;
    std::int64_t max_new_tokens = 48;
    int timeout_ms = 120000;
};

// Waits for the model, sends the prompt and waits for the reply, shows the view, saves the PNG.
// Returns the process exit code (0 on success; 1 with a message on stderr otherwise).
int run_screenshot(QApplication& app, MainWindow& window, const ScreenshotJob& job);

}  // namespace statescope::studio
