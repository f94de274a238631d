#include "app/studio/compare_worker.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "app/studio/compare_run.h"
#include "core/runtime/backends.h"

namespace statescope::studio {

namespace fs = std::filesystem;

namespace {

// MemAvailable from /proc/meminfo in bytes; 0 when it cannot be read.
std::uint64_t available_memory() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::uint64_t kb = 0;
    std::string unit;
    while (in >> key >> kb >> unit)
        if (key == "MemAvailable:") return kb * 1024;
    return 0;
}

}  // namespace

void register_compare_types() {
    qRegisterMetaType<CompareRequest>();
    qRegisterMetaType<ModelResult>();
    qRegisterMetaType<CompareResult>();
}

CompareWorker::CompareWorker(QObject* parent) : QObject(parent) {}

bool CompareWorker::fits_together(const std::vector<std::string>& dirs,
                                  const std::string& backend) {
    if (backend != "cpu") return false;
    std::uint64_t weights = 0;
    for (const auto& d : dirs) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(d, ec))
            if (e.path().extension() == ".safetensors") weights += e.file_size(ec);
    }
    const std::uint64_t avail = available_memory();
    return avail > 0 && weights <= avail / 2;
}

void CompareWorker::run(const CompareRequest& request) {
    stop_.store(false);
    CompareResult result;
    result.request = request;
    result.models.resize(request.model_dirs.size());
    const bool together = request.together && request.model_dirs.size() > 1 &&
                          fits_together(request.model_dirs, request.backend);
    auto run_one = [&](std::size_t i) {
        const int index = int(i);
        // Progress at most every 40 ms (and at each stage's end): the UI queue stays short.
        auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        StageFn stage = [this, index, last](const std::string& s, std::int64_t done,
                                            std::int64_t total) mutable {
            const auto now = std::chrono::steady_clock::now();
            if (done >= total || now - last >= std::chrono::milliseconds(40)) {
                last = now;
                emit progress(index, QString::fromStdString(s), done, total);
            }
            return !stop_.load();
        };
        ModelResult r;
        try {
            // Its own backend per model: when run together they must not share a workspace.
            auto backend = make_backend(request.backend);
            r = run_compare_model(request.model_dirs[i], request, *backend, stage);
        } catch (const std::exception& e) {
            r.dir = request.model_dirs[i];
            r.name = fs::path(r.dir).filename().string();
            r.error = e.what();
        }
        result.models[i] = r;
        emit modelFinished(index, r);
    };
    if (together) {
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < request.model_dirs.size(); ++i)
            threads.emplace_back(run_one, i);
        for (auto& t : threads) t.join();
    } else {
        // One after another: each model (and its backend) is freed before the next one loads.
        for (std::size_t i = 0; i < request.model_dirs.size(); ++i) {
            if (stop_.load()) {
                result.models[i].dir = request.model_dirs[i];
                result.models[i].name = fs::path(request.model_dirs[i]).filename().string();
                result.models[i].cancelled = true;
                emit modelFinished(int(i), result.models[i]);
                continue;
            }
            run_one(i);
        }
    }
    emit finished(result, together);
}

}  // namespace statescope::studio
