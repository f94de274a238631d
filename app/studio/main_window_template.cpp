// MainWindow's rendered-prompt dialog (Ctrl+T): what the next send would feed the model, and its
// token count, rendered on the engine thread.
#include "app/studio/main_window.h"

#include <QDialog>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QVBoxLayout>

#include "app/studio/sampling_panel.h"

namespace statescope::studio {

void MainWindow::showTemplate() {
    if (!template_dialog_) {
        auto* d = new QDialog(this);
        d->setWindowTitle(tr("Rendered prompt"));
        d->setAttribute(Qt::WA_DeleteOnClose);
        auto* v = new QVBoxLayout(d);
        template_count_ = new QLabel(d);
        template_text_ = new QPlainTextEdit(d);
        template_text_->setReadOnly(true);
        template_text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        v->addWidget(template_count_);
        v->addWidget(template_text_);
        d->resize(640, 420);
        connect(d, &QObject::destroyed, this, [this] {
            template_text_ = nullptr;
            template_count_ = nullptr;
        });
        template_dialog_ = d;
    }
    // What the next send would feed: the branch on screen plus the text being typed.
    GenerationRequest r = request_for(tree_.head());
    if (tree_.empty() && !sampling_->systemPrompt().isEmpty())
        r.turns.push_back({"system", sampling_->systemPrompt(), -1});
    if (!composer_->toPlainText().trimmed().isEmpty())
        r.turns.push_back({"user", composer_->toPlainText().trimmed(), -1});
    template_text_->setPlainText(tr("rendering…"));
    emit requestTemplate(r);
    template_dialog_->show();  // not modal: the chat stays usable
    template_dialog_->raise();
}

}  // namespace statescope::studio
