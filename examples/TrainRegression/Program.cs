using LightNet;
using LightNet.Autograd;
using LightNet.Models.Nn;
using LightNet.Models.Optim;

// Synthetic regression on your own tensors: y = sin(x·a) + 0.5·x₀·x₁ + noise, x ∈ R⁸, fitted by a two-layer MLP with AdamW.
int steps = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 300;
var gen = new Generator(42);
using var x = Tensor.RandN([1024, 8], gen);
using var a = Tensor.RandN([8, 1], gen, std: 0.5);
using var y = Tensor.Matmul(x, a).Sin() + 0.5 * x.Narrow(1, 0, 1) * x.Narrow(1, 1, 1) + Tensor.RandN([1024, 1], gen, std: 0.05);

var model = new Mlp(inputs: 8, hidden: 64, gen);
var opt = new AdamW(model.Parameters(), lr: 3e-3, weightDecay: 0.01);
for (int step = 1; step <= steps; step++)
{
    using var scope = DisposalScope.Begin();                 // frees this step's activations and gradients
    var loss = (model.Forward(new Variable(x)) - new Variable(y)).Square().Mean();
    loss.Backward();
    opt.Step();
    opt.ZeroGrad();
    if (step == 1 || step % 50 == 0) Console.WriteLine($"step {step,4}  mse {loss.Data.Item():F5}");
}

/// <summary>x → Linear → SiLU → Linear: a module with two child layers (parameters fc1.weight, fc1.bias, fc2.…).</summary>
internal sealed class Mlp : Module
{
    private readonly Linear _fc1, _fc2;
    public Mlp(int inputs, int hidden, Generator gen)
    {
        _fc1 = Child("fc1", new Linear(inputs, hidden, bias: true, gen, std: 1 / Math.Sqrt(inputs)));
        _fc2 = Child("fc2", new Linear(hidden, 1, bias: true, gen, std: 1 / Math.Sqrt(hidden)));
    }
    public Variable Forward(Variable x) => _fc2.Forward(_fc1.Forward(x).Silu());
}
