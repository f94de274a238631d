// Backend choice by name ("cpu", "cuda"). A backend that cannot be had is an Error that says why;
// the caller decides whether to fall back and must say so (no silent fallback).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace statescope {

std::unique_ptr<kernels::Backend> make_backend(const std::string& name);
std::vector<std::string> available_backends();

}  // namespace statescope
