r"""The project's own display-formula test set: realistic LaTeX formulas (physics, maths, ML papers) compiled with
pdflatex, one per page, so a formula's region is every glyph and rule of its page and its ground truth is its source.

Only commands KaTeX renders are used, so a reconstruction can be compared with the source by rendered structure
(:mod:`docray.evaluation.katex_math`).
"""

from __future__ import annotations

from dataclasses import dataclass

from docray.testing.latex import DEFAULT_PREAMBLE, compile_latex

# (category, LaTeX source without delimiters); categories group failures in reports
FORMULAS: tuple[tuple[str, str], ...] = (
    # sub- and superscripts
    ("scripts", r"x_i^2 + y_j^2 = r^2"),
    ("scripts", r"a_{n+1} = a_n + a_{n-1}"),
    ("scripts", r"e^{i\pi} + 1 = 0"),
    ("scripts", r"x^{2^k} = y_{i_j}"),
    ("scripts", r"T_{\mu\nu} = g_{\mu\alpha} g_{\nu\beta} T^{\alpha\beta}"),
    ("scripts", r"f(x) = a_0 + a_1 x + a_2 x^2 + \cdots + a_n x^n"),
    ("scripts", r"\|x\|_2^2 = x_1^2 + x_2^2 + \dots + x_d^2"),
    ("scripts", r"e^{-x^2/2\sigma^2}"),
    ("scripts", r"\Gamma^\lambda_{\mu\nu} = \Gamma^\lambda_{\nu\mu}"),
    ("scripts", r"f'(x) = 2x, \quad f''(x) = 2"),
    ("scripts", r"h_t = \tanh(W_h h_{t-1} + W_x x_t + b)"),
    ("scripts", r"\theta_{t+1} = \theta_t - \eta \nabla_\theta L(\theta_t)"),
    ("scripts", r"A^{-1} A = I_n"),
    ("scripts", r"y^{(k)} = W^{(k)} y^{(k-1)}"),
    # fractions
    ("fractions", r"\frac{a+b}{c}"),
    ("fractions", r"\frac{1}{2} + \frac{1}{3} = \frac{5}{6}"),
    ("fractions", r"\frac{\partial u}{\partial t} = \alpha \frac{\partial^2 u}{\partial x^2}"),
    ("fractions", r"\frac{d}{dx} \left( \frac{1}{x} \right) = -\frac{1}{x^2}"),
    ("fractions", r"P(A \mid B) = \frac{P(B \mid A) P(A)}{P(B)}"),
    ("fractions", r"\frac{1}{1 + \frac{1}{x}} = \frac{x}{x+1}"),
    ("fractions", r"\sigma(z) = \frac{1}{1 + e^{-z}}"),
    ("fractions", r"\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}}"),
    ("fractions", r"\frac{\partial L}{\partial w_{ij}} = \delta_j x_i"),
    ("fractions", r"\tan \theta = \frac{\sin \theta}{\cos \theta}"),
    ("fractions", r"\frac{n!}{k!(n-k)!}"),
    ("fractions", r"F = G \frac{m_1 m_2}{r^2}"),
    ("fractions", r"\frac{a}{b} \cdot \frac{c}{d} = \frac{ac}{bd}"),
    ("fractions", r"v = \frac{\Delta x}{\Delta t}"),
    # radicals
    ("radicals", r"\sqrt{x^2 + y^2}"),
    ("radicals", r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}"),
    ("radicals", r"\sqrt[3]{8} = 2"),
    ("radicals", r"\sqrt{1 + \sqrt{1 + \sqrt{x}}}"),
    ("radicals", r"\sigma = \sqrt{\frac{1}{N} \sum_{i=1}^{N} (x_i - \mu)^2}"),
    ("radicals", r"\|v\| = \sqrt{v_1^2 + v_2^2 + v_3^2}"),
    ("radicals", r"\sqrt[n]{a b} = \sqrt[n]{a} \sqrt[n]{b}"),
    ("radicals", r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left( \frac{Q K^T}{\sqrt{d_k}} \right) V"),
    # big operators
    ("bigops", r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}"),
    ("bigops", r"\prod_{k=1}^{n} k = n!"),
    ("bigops", r"\int_0^\infty e^{-x^2} dx = \frac{\sqrt{\pi}}{2}"),
    ("bigops", r"\int_a^b f(x)\, dx = F(b) - F(a)"),
    ("bigops", r"\oint_C \mathbf{F} \cdot d\mathbf{r} = 0"),
    ("bigops", r"\sum_{n=0}^{\infty} \frac{x^n}{n!} = e^x"),
    ("bigops", r"\bigcup_{i=1}^{\infty} A_i"),
    ("bigops", r"\iint_D f(x, y)\, dx\, dy"),
    ("bigops", r"\sum_{i=1}^{n} \sum_{j=1}^{m} a_{ij}"),
    ("bigops", r"\lim_{n \to \infty} \left( 1 + \frac{1}{n} \right)^n = e"),
    ("bigops", r"\max_{x \in X} f(x) \geq \min_{y \in Y} g(y)"),
    ("bigops", r"\mathbb{E}[X] = \int_{-\infty}^{\infty} x p(x)\, dx"),
    ("bigops", r"L = -\frac{1}{N} \sum_{i=1}^{N} \sum_{c=1}^{C} y_{ic} \log p_{ic}"),
    ("bigops", r"\bigoplus_{k=1}^{m} V_k"),
    ("bigops", r"\int_0^1 \int_0^1 x y \, dx \, dy = \frac{1}{4}"),
    ("bigops", r"\lim_{x \to 0} \frac{\sin x}{x} = 1"),
    # delimiters
    ("delimiters", r"\left( \sum_{i=1}^{n} a_i \right)^2 \leq n \sum_{i=1}^{n} a_i^2"),
    ("delimiters", r"\left[ \frac{a}{b} \right]"),
    ("delimiters", r"\left\{ x \in \mathbb{R} : x^2 < 1 \right\}"),
    ("delimiters", r"\left| \frac{x}{y} \right|"),
    ("delimiters", r"\langle x, y \rangle = \sum_i x_i y_i"),
    ("delimiters", r"\lfloor x \rfloor + \lceil y \rceil"),
    ("delimiters", r"\left\| \frac{\partial f}{\partial x} \right\|"),
    ("delimiters", r"\bigl( f(x) \bigr)"),
    ("delimiters", r"\left\langle \frac{a}{b}, c \right\rangle"),
    ("delimiters", r"[a, b) \cup (c, d]"),
    # accents
    ("accents", r"\hat{y} = X \hat{\beta}"),
    ("accents", r"\bar{x} = \frac{1}{n} \sum_{i=1}^{n} x_i"),
    ("accents", r"\vec{F} = m \vec{a}"),
    ("accents", r"\dot{x} = A x + B u"),
    ("accents", r"\tilde{f}(\omega) = \int f(t) e^{-i \omega t} dt"),
    ("accents", r"\ddot{q} + \omega^2 q = 0"),
    ("accents", r"\overline{z_1 z_2} = \bar{z}_1 \bar{z}_2"),
    ("accents", r"\hat{H} \psi = E \psi"),
    # fonts
    ("fonts", r"x \in \mathbb{R}^n"),
    ("fonts", r"\mathcal{L}(\theta) = \mathbb{E}_{x \sim \mathcal{D}} [\ell(x; \theta)]"),
    ("fonts", r"f : \mathbb{N} \to \mathbb{Z}"),
    ("fonts", r"\mathfrak{g} = \mathfrak{sl}_2"),
    ("fonts", r"\mathbf{y} = \mathbf{W} \mathbf{x} + \mathbf{b}"),
    ("fonts", r"\mathcal{O}(n \log n)"),
    ("fonts", r"\mathbb{P}(X > t) \leq \frac{\mathbb{E}[X]}{t}"),
    ("fonts", r"\nabla \cdot \mathbf{E} = \frac{\rho}{\varepsilon_0}"),
    ("fonts", r"\mathcal{H} = \mathcal{H}_1 \otimes \mathcal{H}_2"),
    # operator names
    ("operators", r"\sin^2 x + \cos^2 x = 1"),
    ("operators", r"\log(ab) = \log a + \log b"),
    ("operators", r"\exp(x) = e^x"),
    ("operators", r"\det(A B) = \det A \det B"),
    ("operators", r"\ln x = \int_1^x \frac{dt}{t}"),
    ("operators", r"\arg\max_{\theta} p(x \mid \theta)"),
    ("operators", r"\sinh x = \frac{e^x - e^{-x}}{2}"),
    ("operators", r"\dim V = \operatorname{rank} A + \dim \ker A"),
    # relations, arrows, symbols
    ("symbols", r"\alpha + \beta \leq \gamma"),
    ("symbols", r"A \subseteq B \Rightarrow A \cap B = A"),
    ("symbols", r"\forall \epsilon > 0, \exists \delta > 0"),
    ("symbols", r"x \mapsto x^2"),
    ("symbols", r"a \equiv b \pmod{n}"),
    ("symbols", r"f \circ g \neq g \circ f"),
    ("symbols", r"\neg (p \wedge q) \Leftrightarrow \neg p \vee \neg q"),
    ("symbols", r"A \times B \approx C"),
    ("symbols", r"\emptyset \subset \{1, 2\}"),
    ("symbols", r"x \perp y, \quad u \parallel v"),
    ("symbols", r"\Omega \supseteq \Lambda \ni \xi"),
    ("symbols", r"\hbar \omega \propto \nu"),
    ("symbols", r"X \sim \mathcal{N}(\mu, \sigma^2)"),
    ("symbols", r"a \ll b \gg c"),
    # matrices
    ("matrices", r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}"),
    ("matrices", r"\begin{bmatrix} 1 & 0 & 0 \\ 0 & 1 & 0 \\ 0 & 0 & 1 \end{bmatrix}"),
    ("matrices", r"A = \begin{pmatrix} \cos \theta & -\sin \theta \\ \sin \theta & \cos \theta \end{pmatrix}"),
    ("matrices", r"\det \begin{vmatrix} a & b \\ c & d \end{vmatrix} = ad - bc"),
    ("matrices", r"\begin{pmatrix} x_1 \\ x_2 \\ x_3 \end{pmatrix}"),
    (
        "matrices",
        r"\begin{bmatrix} a_{11} & a_{12} \\ a_{21} & a_{22} \end{bmatrix} \begin{bmatrix} x \\ y \end{bmatrix}",
    ),
    ("matrices", r"\sigma_x = \begin{pmatrix} 0 & 1 \\ 1 & 0 \end{pmatrix}"),
    ("matrices", r"J = \begin{bmatrix} \frac{\partial f}{\partial x} & \frac{\partial f}{\partial y} \end{bmatrix}"),
    # cases
    ("cases", r"|x| = \begin{cases} x & x \geq 0 \\ -x & x < 0 \end{cases}"),
    ("cases", r"f(x) = \begin{cases} 1 & \text{if } x > 0 \\ 0 & \text{otherwise} \end{cases}"),
    ("cases", r"\delta_{ij} = \begin{cases} 1 & i = j \\ 0 & i \neq j \end{cases}"),
    ("cases", r"\mathrm{ReLU}(x) = \begin{cases} x & x > 0 \\ 0 & x \leq 0 \end{cases}"),
    ("cases", r"u(n) = \begin{cases} 0 & n < 0 \\ \frac{1}{2} & n = 0 \\ 1 & n > 0 \end{cases}"),
    # text in math
    ("text", r"x_n \to 0 \quad \text{as } n \to \infty"),
    ("text", r"\text{loss} = \text{error} + \lambda \|w\|^2"),
    ("text", r"p(x) > 0 \text{ for all } x"),
    # physics
    ("physics", r"E = mc^2"),
    ("physics", r"i \hbar \frac{\partial}{\partial t} \Psi = \hat{H} \Psi"),
    (
        "physics",
        r"\nabla \times \mathbf{B} = \mu_0 \mathbf{J} + \mu_0 \varepsilon_0 \frac{\partial \mathbf{E}}{\partial t}",
    ),
    ("physics", r"\Delta x \Delta p \geq \frac{\hbar}{2}"),
    ("physics", r"S = k_B \ln \Omega"),
    ("physics", r"Z = \sum_i e^{-\beta E_i}"),
    ("physics", r"\langle \psi | \phi \rangle = \int \psi^*(x) \phi(x)\, dx"),
    ("physics", r"F_{\mu\nu} = \partial_\mu A_\nu - \partial_\nu A_\mu"),
    ("physics", r"R_{\mu\nu} - \frac{1}{2} R g_{\mu\nu} = 8 \pi G T_{\mu\nu}"),
    ("physics", r"\gamma = \frac{1}{\sqrt{1 - v^2/c^2}}"),
    # machine learning, statistics
    ("ml", r"\mathrm{KL}(p \| q) = \sum_x p(x) \log \frac{p(x)}{q(x)}"),
    ("ml", r"\hat{\theta} = \arg\min_\theta \sum_{i=1}^{n} (y_i - x_i^T \theta)^2 + \lambda \|\theta\|_1"),
    ("ml", r"p(y \mid x) = \frac{p(x \mid y) p(y)}{\sum_{y'} p(x \mid y') p(y')}"),
    ("ml", r"\mathrm{Var}(X) = \mathbb{E}[X^2] - (\mathbb{E}[X])^2"),
    ("ml", r"\nabla_\theta J(\theta) = \mathbb{E}_{\pi_\theta} [\nabla_\theta \log \pi_\theta(a \mid s) Q(s, a)]"),
    ("ml", r"\mathrm{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta"),
    ("ml", r"f(x) = \frac{1}{\sigma \sqrt{2\pi}} e^{-\frac{(x - \mu)^2}{2\sigma^2}}"),
    ("ml", r"\binom{n}{k} p^k (1-p)^{n-k}"),
    ("ml", r"\rho = \frac{\mathrm{Cov}(X, Y)}{\sigma_X \sigma_Y}"),
    ("ml", r"m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t"),
    ("ml", r"\hat{m}_t = \frac{m_t}{1 - \beta_1^t}"),
    (
        "ml",
        r"\mathcal{L}_{\text{VAE}} = \mathbb{E}_{q_\phi(z \mid x)} [\log p_\theta(x \mid z)] - D_{\mathrm{KL}}(q_\phi(z \mid x) \| p(z))",
    ),
    ("ml", r"\operatorname*{arg\,max}_{y \in \mathcal{Y}} \sum_{t=1}^{T} \log p(y_t \mid y_{<t}, x)"),
    ("ml", r"\boldsymbol{\mu}_k = \frac{\sum_{n} \gamma_{nk} \mathbf{x}_n}{\sum_{n} \gamma_{nk}}"),
    # more structure: decorations, stacked relations, multi-level scripts, evaluation bars
    ("decorations", r"\underbrace{a + b + c}_{3} = \overbrace{x + y}^{2}"),
    ("decorations", r"\widehat{x y} + \widetilde{A B}"),
    ("decorations", r"A \xrightarrow{f} B \xrightarrow{g} C"),
    ("decorations", r"x \stackrel{\text{def}}{=} y"),
    ("decorations", r"\left. \frac{d f}{d x} \right|_{x = 0} = 1"),
    ("decorations", r"\underline{u} \leq u \leq \overline{u}"),
    ("scripts", r"f_i'(x) + g^{\prime\prime}_j(y)"),
    ("scripts", r"{}^{14}_{6}\mathrm{C} \to {}^{14}_{7}\mathrm{N} + e^- + \bar{\nu}_e"),
    ("scripts", r"e^{\sqrt{x}} + 2^{\frac{n}{2}}"),
    ("fractions", r"\dfrac{1}{2} + \tfrac{1}{3}"),
    ("fractions", r"a_0 + \cfrac{1}{a_1 + \cfrac{1}{a_2 + \cfrac{1}{a_3}}}"),
    ("bigops", r"\sum_{\substack{i = 1 \\ i \neq j}}^{n} w_{ij}"),
    ("bigops", r"\int\limits_{0}^{2\pi} \cos^2 \theta \, d\theta = \pi"),
    ("bigops", r"\iiint_V \nabla \cdot \mathbf{F} \, dV = \oint_{\partial V} \mathbf{F} \cdot d\mathbf{S}"),
    ("bigops", r"\prod_{p \text{ prime}} \frac{1}{1 - p^{-s}} = \sum_{n=1}^{\infty} \frac{1}{n^s}"),
    (
        "matrices",
        r"\begin{pmatrix} a_{11} & \cdots & a_{1n} \\ \vdots & \ddots & \vdots \\ a_{m1} & \cdots & a_{mn} \end{pmatrix}",
    ),
    ("matrices", r"\begin{bmatrix} \frac{1}{2} & 0 \\ 0 & \frac{1}{3} \end{bmatrix}^{-1}"),
    ("matrices", r"\begin{Vmatrix} x \\ y \end{Vmatrix}"),
    ("cases", r"\mathbb{1}_A(x) = \begin{cases} 1, & x \in A, \\ 0, & x \notin A. \end{cases}"),
    ("multiline", r"\begin{aligned} f(x) &= (x + 1)^2 \\ &= x^2 + 2x + 1 \end{aligned}"),
    ("multiline", r"\begin{gathered} a + b = c \\ d - e = f \end{gathered}"),
    ("fonts", r"\mathsf{P} \neq \mathsf{NP}, \quad \mathtt{x} = \mathrm{const}"),
    ("symbols", r"a \not\subset b, \quad p \nmid q, \quad x \notin S"),
    ("symbols", r"0.5 \leq \alpha \leq 1, \quad 90^\circ"),
)


# font variants: the same formulas set in other font families of texlive-fonts-recommended (preamble lines added to
# the default Computer Modern preamble). "pazo": Palatino text + PazoMath (mathpazo); "times": Times text + Adobe
# Symbol / RSFS math (mathptmx); "tx"/"px": txfonts/pxfonts (Times/Palatino with their own math fonts).
FONT_VARIANTS: dict[str, str] = {
    "cm": "",
    "pazo": "\\usepackage{mathpazo}\n",
    "times": "\\usepackage{mathptmx}\n",
    "tx": "\\usepackage{txfonts}\n",
    "px": "\\usepackage{pxfonts}\n",
}


def font_preamble(fonts: str = "cm") -> str:
    """The LaTeX preamble of a font variant (see :data:`FONT_VARIANTS`)."""
    if fonts not in FONT_VARIANTS:
        raise ValueError(f"unknown font variant {fonts!r}; one of {sorted(FONT_VARIANTS)}")
    return DEFAULT_PREAMBLE + FONT_VARIANTS[fonts]


@dataclass(frozen=True)
class FormulaSet:
    """The compiled set: ``pdf`` has one formula per page, in the order of ``formulas`` ((category, latex))."""

    pdf: bytes
    formulas: tuple[tuple[str, str], ...]


def formula_document(formulas: tuple[tuple[str, str], ...] = FORMULAS) -> str:
    r"""The LaTeX body: each formula in its own ``\[ ... \]`` on its own page."""
    return "\n\\newpage\n".join(f"\\[ {latex} \\]" for _, latex in formulas)


def build_formula_set(formulas: tuple[tuple[str, str], ...] = FORMULAS, fonts: str = "cm") -> FormulaSet:
    """Compile ``formulas`` with pdflatex in the font variant ``fonts`` (:data:`FONT_VARIANTS`); raises
    :class:`docray.testing.latex.LatexError` when pdflatex is missing or fails."""
    return FormulaSet(compile_latex(formula_document(formulas), font_preamble(fonts)), tuple(formulas))


def formula_regions(pdf: bytes) -> list[tuple[list, list]]:
    """Per page of ``pdf``: (glyphs, rules) — for the formula set, one formula's region each."""
    import pypdfium2 as pdfium

    from docray.operators.textlayer.pdf_glyphs import page_glyphs, page_rules

    document = pdfium.PdfDocument(pdf)
    try:
        regions = []
        for index in range(len(document)):
            page = document[index]
            try:
                regions.append((page_glyphs(page), page_rules(page)))
            finally:
                page.close()
        return regions
    finally:
        document.close()


def formula_crops(pdf: bytes, dpi: float, margin: float = 2.0) -> list:
    """Per page of ``pdf``, an RGB crop (numpy) of the page rendered at ``dpi``: the union of its glyph and rule boxes
    grown by ``margin`` points, edges rounded outwards (as the formula operator crops)."""
    import numpy as np
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    crops, scale = [], dpi / 72
    try:
        for index, (glyphs, rules) in enumerate(formula_regions(pdf)):
            boxes = np.array([g.bbox for g in glyphs] + list(rules))
            x0, y0 = np.maximum((boxes[:, :2].min(axis=0) - margin) * scale, 0)
            x1, y1 = (boxes[:, 2:].max(axis=0) + margin) * scale
            image = document[index].render(scale=scale).to_numpy()[:, :, :3]
            crops.append(np.ascontiguousarray(image[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]))
    finally:
        document.close()
    return crops
