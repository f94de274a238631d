// Syntax tree of a parsed template, shaped like jinja2.nodes: expressions (Expr) and statements
// (Stmt). Every node keeps its template line for error messages. Filters and tests are resolved to
// functions at parse time (an unknown one is a parse error, except inside `if` where Jinja2 defers
// it).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/chat/jinja_value.h"

namespace statescope::jinja {

class Renderer;

// Arguments of a call, filter or test after evaluation.
struct CallArgs {
    std::vector<Value> args;
    std::vector<std::pair<std::string, Value>> kwargs;
};

using FilterFn = Value (*)(Renderer& r, const Value& input, const CallArgs& args);
using TestFn = bool (*)(Renderer& r, const Value& input, const CallArgs& args);

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : std::uint8_t {
    Const,
    Name,
    List,
    Tuple,
    Dict,
    GetAttr,
    GetItem,
    Slice,
    Call,
    Filter,
    Test,
    Neg,
    Pos,
    Not,
    Binary,
    And,
    Or,
    Concat,
    Compare,
    CondExpr
};

enum class BinOp : std::uint8_t { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
enum class CmpOp : std::uint8_t { Eq, Ne, Lt, LtEq, Gt, GtEq, In, NotIn };

struct Keyword {
    std::string name;
    ExprPtr value;
};

struct CallExprArgs {
    std::vector<ExprPtr> args;
    std::vector<Keyword> kwargs;
    ExprPtr dyn_args;    // *args
    ExprPtr dyn_kwargs;  // **kwargs
};

struct Expr {
    ExprKind kind;
    int line = 0;
    int depth = 1;     // height of this subtree, bounded by the parser (evaluation recurses on it)
    Value value;       // Const
    std::string name;  // Name; GetAttr attribute; Filter/Test name
    // Operands: unary/GetAttr/Filter/Test/Call target in a; Binary/GetItem/And/Or in a, b;
    // CondExpr: a = value if true, b = condition, c = else value (may be null);
    // Slice: a, b, c = start, stop, step (each may be null).
    ExprPtr a, b, c;
    std::vector<ExprPtr> items;  // List/Tuple/Concat; Dict: key, value, key, value ...
    std::vector<std::pair<CmpOp, ExprPtr>> ops;  // Compare: a op0 ops[0] op1 ops[1] ...
    BinOp op = BinOp::Add;
    CallExprArgs call;          // Call, Filter, Test
    FilterFn filter = nullptr;  // Filter (null: unknown, fails when evaluated)
    TestFn test = nullptr;      // Test
};

// Assignment target: a name, a namespace attribute (ns.attr) or a tuple of targets.
struct Target {
    std::string name;
    std::string attr;  // non-empty: namespace attribute assignment
    std::vector<Target> items;
    bool tuple = false;
};

enum class StmtKind : std::uint8_t {
    Text,
    Print,
    If,
    For,
    Set,
    SetBlock,
    Macro,
    CallBlock,
    FilterBlock,
    With,
    Scope,  // {% generation %}, {% block %}: a body in its own scope
    Break,
    Continue
};

struct IfBranch {
    ExprPtr test;
    Body body;
};

struct Stmt {
    StmtKind kind;
    int line = 0;
    std::string text;                // Text; Macro name
    ExprPtr expr;                    // Print, For iterable, Set value, SetBlock/FilterBlock filter
                                     // chain (innermost input null), CallBlock call
    ExprPtr cond;                    // For ... if cond
    Target target;                   // For, Set, SetBlock
    std::vector<Target> targets;     // With
    std::vector<ExprPtr> values;     // With
    std::vector<IfBranch> branches;  // If / elif ...
    Body body, else_body;
    // Macro / CallBlock signature: params, with defaults for the last defaults.size() of them.
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults;
    bool uses_caller = false, uses_varargs = false, uses_kwargs = false;
};

struct Template {
    Body body;
};

}  // namespace statescope::jinja
