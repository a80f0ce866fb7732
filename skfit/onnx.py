"""Export skfit estimators to ONNX with skl2onnx.

Importing this module registers a shape calculator and a converter with skl2onnx
for each of :class:`~skfit.GDRegressor`, :class:`~skfit.GDClassifier`,
:class:`~skfit.MLPRegressor` and :class:`~skfit.MLPClassifier`, so that
``skl2onnx.to_onnx`` converts them, alone or inside a ``Pipeline`` or any other
composite that skl2onnx converts. The graphs compute what the estimators compute:

- the forward pass, ``X @ W + b`` for each layer, with the hidden layers'
  activation (relu, tanh, logistic, identity, or the exact gelu through ``Erf``);
- regressors: the loss's inverse link on the raw output (the identity, or
  poisson's ``exp``, capped as :class:`~skfit.losses.Poisson` caps it), with one
  column per output;
- classifiers: the label of the largest raw output (of ``raw > 0`` for a binary
  problem), and the probabilities of the fitted loss: log_loss's sigmoid (binary) or
  softmax (multiclass), modified_huber's ``clip((raw + 1) / 2, 0, 1)``, normalised
  over the classes as :meth:`~skfit.GDClassifier.predict_proba` does. Losses
  without probabilities (hinge, squared_hinge) give the raw scores instead, as
  skl2onnx does for scikit-learn's ``SGDClassifier``;
- an :class:`~skfit.MLPClassifier` fitted on multilabel targets: the int64
  indicator matrix of the labels whose raw output is positive, and each label's
  probability on its own (the sigmoid of its column; modified_huber's clipped
  column, not normalised), as skl2onnx converts scikit-learn's multilabel
  ``MLPClassifier``.

Classifiers take skl2onnx's classifier options: ``zipmap`` (True: a list of
dictionaries; False: a tensor; ``'columns'``), ``nocl``, ``output_class_labels``,
and ``raw_scores`` (True: the second output holds ``decision_function``, as
``[-d, d]`` for a binary problem, as skl2onnx does for scikit-learn's linear
classifiers). Labels are int64 for numeric classes and strings otherwise.

A float32 graph (the default of ``skl2onnx.to_onnx`` for float32 data) computes in
float32 whatever the dtype the estimator was fitted in; onnxruntime then reproduces
skfit to float32 rounding. This module needs the ``onnx`` extra
(``pip install "skfit[onnx]"``); ``import skfit`` does not import it.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> import skfit.onnx  # registers the converters
>>> from skl2onnx import to_onnx
>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from skfit import GDClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X = X.astype(np.float32)
>>> clf = GDClassifier(max_epochs=50, tol=None, random_state=0)
>>> model = make_pipeline(StandardScaler(), clf).fit(X, y)
>>> onx = to_onnx(model, X[:1], options={"zipmap": False})
>>> session = ort.InferenceSession(onx.SerializeToString())
>>> labels, proba = session.run(None, {"X": X})
>>> bool(np.all(labels == model.predict(X)))
True
>>> bool(np.allclose(proba, model.predict_proba(X), atol=1e-5))
True
"""

import numpy as np
import scipy.sparse as sp

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        guess_proto_type,
    )
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as exc:
    raise ImportError(
        'skfit.onnx requires skl2onnx and onnxruntime: pip install "skfit[onnx]"'
    ) from exc

from .linear_model import GDClassifier, GDRegressor
from .losses import (
    AbsoluteError,
    EpsilonInsensitive,
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    MultilabelLogLoss,
    Poisson,
    SquaredError,
    SquaredHinge,
    _LossObject,
)
from .neural_network import MLPClassifier, MLPRegressor

__all__ = []

#: The losses whose raw output is the prediction or the score.
_IDENTITY_LINKS = (SquaredError, AbsoluteError, Huber, EpsilonInsensitive)
_SCORE_ONLY = (Hinge, SquaredHinge)

_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
    "raw_scores": [True, False],
}


class _Graph:
    """Adds nodes and constants to skl2onnx's container under unique names."""

    def __init__(self, scope, container, proto_dtype):
        self.scope = scope
        self.container = container
        self.proto_dtype = proto_dtype
        double = proto_dtype == onnx_proto.TensorProto.DOUBLE
        self.dtype = np.float64 if double else np.float32

    def constant(self, value, proto_dtype=None, name="constant"):
        """Add a constant, in the graph's float type unless ``proto_dtype`` is
        given; return its name."""
        value = np.asarray(value)
        if proto_dtype is None:
            proto_dtype, value = self.proto_dtype, value.astype(self.dtype)
        unique = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(
            unique, proto_dtype, list(value.shape), value.ravel().tolist()
        )
        return unique

    def node(self, op_type, inputs, output=None, **attributes):
        """Add an operator of the default ONNX domain; return its output's name."""
        if output is None:
            output = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            output,
            name=self.scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output


def _graph_for(scope, operator, container):
    """A :class:`_Graph` computing in float64 for float64 input, else float32,
    and the name of the input cast to that type."""
    proto_dtype = guess_proto_type(operator.inputs[0].type)
    if proto_dtype != onnx_proto.TensorProto.DOUBLE:
        proto_dtype = onnx_proto.TensorProto.FLOAT
    graph = _Graph(scope, container, proto_dtype)
    X = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) != proto_dtype:
        X = graph.node("Cast", [X], to=proto_dtype)
    return graph, X


def _layers(estimator):
    """The fitted weights and biases of each layer, and the hidden activation."""
    if isinstance(estimator, MLPRegressor | MLPClassifier):
        layers = list(zip(estimator.coefs_, estimator.intercepts_, strict=True))
        # The fitted network's own activation: set_params may have changed the
        # parameter since.
        return layers, estimator._state.network.activation
    coef = estimator.coef_
    coef = coef.toarray() if sp.issparse(coef) else np.asarray(coef)
    weights = coef.reshape(-1, 1) if coef.ndim == 1 else coef.T
    return [(weights, np.asarray(estimator.intercept_))], None


def _activation(graph, z, name):
    if name == "relu":
        return graph.node("Relu", [z])
    if name == "tanh":
        return graph.node("Tanh", [z])
    if name == "logistic":
        return graph.node("Sigmoid", [z])
    if name == "identity":
        return z
    if name == "gelu":
        # The exact GELU, z * Phi(z) = z * (1 + erf(z / sqrt(2))) / 2.
        erf = graph.node("Erf", [graph.node("Mul", [z, graph.constant(np.sqrt(0.5))])])
        half_z = graph.node("Mul", [z, graph.constant(0.5)])
        return graph.node(
            "Mul", [half_z, graph.node("Add", [erf, graph.constant(1.0)])]
        )
    raise TypeError(f"skfit.onnx has no ONNX form of the activation {name!r}.")


def _raw_output(graph, X, estimator):
    """The name of the raw output, shape (n_samples, n_outputs)."""
    layers, activation = _layers(estimator)
    inputs = X
    for i, (weights, biases) in enumerate(layers):
        product = graph.node("MatMul", [inputs, graph.constant(weights, name="coef")])
        inputs = graph.node("Add", [product, graph.constant(biases, name="intercept")])
        if i < len(layers) - 1:
            inputs = _activation(graph, inputs, activation)
    return inputs


def _fitted_loss(estimator):
    loss = estimator._fitted_loss()
    known = (
        *_IDENTITY_LINKS,
        *_SCORE_ONLY,
        Poisson,
        LogLoss,
        MultilabelLogLoss,
        ModifiedHuber,
    )
    adapted_without_link = type(loss) is _LossObject and not loss.has_probabilities
    if type(loss) not in known and not adapted_without_link:
        raise TypeError(
            f"skfit.onnx converts skfit's own losses and loss objects without an "
            f"inverse_link; {type(estimator).__name__} was fitted with {loss!r}, "
            "whose link has no ONNX form."
        )
    return loss


# ----------------------------------------------------------------- regressors
def _regressor_shape(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(
        operator, good_input_types=[FloatTensorType, DoubleTensorType]
    )
    n_rows = operator.inputs[0].get_first_dimension()
    n_outputs = operator.raw_operator._state.network.layer_sizes[-1]
    tensor_type = type(operator.inputs[0].type)
    operator.outputs[0].type = tensor_type([n_rows, n_outputs])


def _convert_regressor(scope, operator, container):
    estimator = operator.raw_operator
    loss = _fitted_loss(estimator)
    graph, X = _graph_for(scope, operator, container)
    raw = _raw_output(graph, X, estimator)
    output = operator.outputs[0].full_name
    if type(loss) is Poisson:
        # exp(min(raw, cap)), with Poisson.inverse_link's cap for the graph's dtype.
        cap = np.log(np.finfo(graph.dtype).max) / 2
        capped = graph.node("Min", [raw, graph.constant(cap)])
        graph.node("Exp", [capped], output)
    else:
        graph.node("Identity", [raw], output)


# ---------------------------------------------------------------- classifiers
def _classifier_shape(operator):
    calculate_linear_classifier_output_shapes(operator)
    estimator = operator.raw_operator
    if estimator._multilabel:
        # The labels are an indicator matrix, one column per label.
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = Int64TensorType([n_rows, len(estimator.classes_)])


def _convert_classifier(scope, operator, container):
    estimator = operator.raw_operator
    loss = _fitted_loss(estimator)
    graph, X = _graph_for(scope, operator, container)
    raw = _raw_output(graph, X, estimator)
    n_columns = estimator._state.network.layer_sizes[-1]
    label, scores = (output.full_name for output in operator.outputs[:2])
    raw_scores = container.get_options(estimator, {"raw_scores": False})["raw_scores"]
    if estimator._multilabel:
        _multilabel_outputs(graph, raw, loss, raw_scores, label, scores)
        return

    # Labels: the class of the largest raw output; of raw > 0 when binary.
    if n_columns == 1:
        positive = graph.node("Greater", [raw, graph.constant([0.0])])
        index = graph.node("Cast", [positive], to=onnx_proto.TensorProto.INT64)
        index = graph.node(
            "Reshape",
            [index, graph.constant([-1], onnx_proto.TensorProto.INT64, "shape")],
        )
    else:
        index = graph.node("ArgMax", [raw], axis=1, keepdims=0)
    graph.node("Gather", [_classes(graph, estimator), index], label)

    if raw_scores or not loss.has_probabilities:
        if n_columns == 1:
            graph.node("Concat", [graph.node("Neg", [raw]), raw], scores, axis=1)
        else:
            graph.node("Identity", [raw], scores)
    elif type(loss) is LogLoss:
        if n_columns == 1:
            negative = graph.node("Sigmoid", [graph.node("Neg", [raw])])
            graph.node(
                "Concat", [negative, graph.node("Sigmoid", [raw])], scores, axis=1
            )
        else:
            graph.node("Softmax", [raw], scores, axis=1)
    else:
        _modified_huber_probabilities(graph, raw, n_columns, scores)


def _classes(graph, estimator):
    """The class labels as a constant: int64 for numbers, else strings."""
    classes = np.asarray(get_label_classes(graph.scope, estimator))
    # Float classes are whole numbers: classifiers refuse continuous targets.
    if classes.dtype.kind in "biuf":
        return graph.constant(
            classes.astype(np.int64), onnx_proto.TensorProto.INT64, "classes"
        )
    encoded = np.array([str(c).encode("utf-8") for c in classes], dtype=object)
    return graph.constant(encoded, onnx_proto.TensorProto.STRING, "classes")


def _multilabel_outputs(graph, raw, loss, raw_scores, label, scores):
    """A multilabel classifier's outputs, as its predict and predict_proba give
    them: the labels whose raw output is positive (probability above 0.5), and
    each label's probability on its own."""
    positive = graph.node("Greater", [raw, graph.constant(0.0)])
    graph.node("Cast", [positive], label, to=onnx_proto.TensorProto.INT64)
    if raw_scores or not loss.has_probabilities:
        graph.node("Identity", [raw], scores)
    elif type(loss) is MultilabelLogLoss:
        graph.node("Sigmoid", [raw], scores)
    else:
        graph.node("Identity", [_modified_huber_columns(graph, raw)], scores)


def _modified_huber_columns(graph, raw):
    """ModifiedHuber's per-column probabilities, clip((raw + 1) / 2, 0, 1)."""
    shifted = graph.node(
        "Mul", [graph.node("Add", [raw, graph.constant(1.0)]), graph.constant(0.5)]
    )
    return graph.node(
        "Min", [graph.node("Max", [shifted, graph.constant(0.0)]), graph.constant(1.0)]
    )


def _modified_huber_probabilities(graph, raw, n_columns, output):
    """ModifiedHuber's per-column probabilities as predict_proba combines them:
    ``[1 - p, p]`` for one column, else each row divided by its sum, a row of
    zeros becoming uniform."""
    proba = _modified_huber_columns(graph, raw)
    if n_columns == 1:
        negative = graph.node("Sub", [graph.constant(1.0), proba])
        graph.node("Concat", [negative, proba], output, axis=1)
        return
    # Row sums as a product with ones: no opset-dependent reduction.
    total = graph.node("MatMul", [proba, graph.constant(np.ones((n_columns, 1)))])
    is_zero = graph.node(
        "Cast",
        [graph.node("Not", [graph.node("Greater", [total, graph.constant(0.0)])])],
        to=graph.proto_dtype,
    )
    # Zero rows: 0 / 1 + 1 / n_columns; the others: proba / total + 0.
    normalised = graph.node("Div", [proba, graph.node("Add", [total, is_zero])])
    uniform = graph.node("Mul", [is_zero, graph.constant(1.0 / n_columns)])
    graph.node("Add", [normalised, uniform], output)


for _estimator, _shape, _converter, _options in [
    (GDRegressor, _regressor_shape, _convert_regressor, None),
    (MLPRegressor, _regressor_shape, _convert_regressor, None),
    (GDClassifier, _classifier_shape, _convert_classifier, _CLASSIFIER_OPTIONS),
    (MLPClassifier, _classifier_shape, _convert_classifier, _CLASSIFIER_OPTIONS),
]:
    update_registered_converter(
        _estimator,
        f"Skfit{_estimator.__name__}",
        _shape,
        _converter,
        options=_options,
    )
