package knowledge

import (
	"math"
	"math/rand/v2"
)

// classifier is a multinomial logistic regression over hashed sparse
// features, one class per entry, trained on the knowledge base's own
// questions when a Base is built. Where BM25 compares a query with one
// question at a time, the classifier learns which words and n-grams tell
// an entry's questions apart from all the others, which is what matters
// once an entry has dozens of phrasings.
type classifier struct {
	classes int
	rows    map[uint64]int32 // feature id → row of w
	w       []float32        // rows × classes
	bias    []float32
}

// trainParams are the classifier's training choices.
type trainParams struct {
	// epochs is the number of passes over the questions, raised for a
	// small knowledge base until there are minSteps updates in all.
	epochs   int
	minSteps int
	rate     float64 // initial learning rate, decaying linearly to rate/10
	// skip is the probability below which a wrong class is not updated:
	// its gradient is negligible, and skipping it makes training several
	// times faster once the model is fitted.
	skip float64
}

// trainClassifier fits a classifier on examples x with labels y in
// [0,classes). It is deterministic: examples are shuffled with a fixed
// seed.
func trainClassifier(x []sparseVec, y []int32, classes int, p trainParams) *classifier {
	c := &classifier{classes: classes, rows: make(map[uint64]int32), bias: make([]float32, classes)}
	ex := c.assignRows(x)
	c.w = make([]float32, len(c.rows)*classes)
	if len(x) == 0 || classes == 0 {
		return c
	}
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	prob := make([]float32, classes)
	active, grad := make([]int32, 0, classes), make([]float32, 0, classes)
	epochs := max(p.epochs, (p.minSteps+len(x)-1)/len(x))
	steps, total := 0, epochs*len(x)
	for range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			lr := p.rate * (1 - 0.9*float64(steps)/float64(total))
			steps++
			copy(prob, c.bias)
			for _, f := range ex[i] {
				addScaled(prob, c.w[int(f.row)*classes:int(f.row+1)*classes], f.val)
			}
			softmax32(prob)
			// The gradient of the classes worth updating, then one pass
			// over the example's rows, which keeps memory access in row
			// order.
			active, grad = active[:0], grad[:0]
			for k, g := range prob {
				if k == int(y[i]) {
					g--
				} else if float64(g) < p.skip {
					continue
				}
				step := float32(lr) * g
				c.bias[k] -= step
				active, grad = append(active, int32(k)), append(grad, step)
			}
			for _, f := range ex[i] {
				row := c.w[int(f.row)*classes : int(f.row+1)*classes]
				for j, k := range active {
					row[k] -= grad[j] * f.val
				}
			}
		}
	}
	return c
}

// rowFeat is a feature of a training example as a row of w.
type rowFeat struct {
	row int32
	val float32
}

// assignRows gives every feature of x a row of w and rewrites the
// examples as row numbers, so that training does no map lookups.
func (c *classifier) assignRows(x []sparseVec) [][]rowFeat {
	ex := make([][]rowFeat, len(x))
	for i, v := range x {
		ex[i] = make([]rowFeat, len(v))
		for j, f := range v {
			r, ok := c.rows[f.id]
			if !ok {
				r = int32(len(c.rows))
				c.rows[f.id] = r
			}
			ex[i][j] = rowFeat{r, f.val}
		}
	}
	return ex
}

// addScaled adds a·x to z; z and x have the same length. It is the
// classifier's inner loop, unrolled by four.
func addScaled(z, x []float32, a float32) {
	x = x[:len(z)]
	i := 0
	for ; i+4 <= len(z); i += 4 {
		z[i] += a * x[i]
		z[i+1] += a * x[i+1]
		z[i+2] += a * x[i+2]
		z[i+3] += a * x[i+3]
	}
	for ; i < len(z); i++ {
		z[i] += a * x[i]
	}
}

// predict sets prob to the class probabilities of v, with logits divided
// by temperature, and reports whether any feature of v is known. z is
// working memory of one float32 per class.
func (c *classifier) predict(v sparseVec, temperature float64, z []float32, prob []float64) bool {
	known := false
	copy(z, c.bias)
	for _, f := range v {
		if r, ok := c.rows[f.id]; ok {
			known = true
			addScaled(z, c.w[int(r)*c.classes:int(r+1)*c.classes], f.val)
		}
	}
	for k, x := range z {
		prob[k] = float64(x) / temperature
	}
	softmax(prob)
	return known
}

// softmax32 is softmax in float32, for training.
func softmax32(z []float32) {
	m := z[0]
	for _, x := range z[1:] {
		m = max(m, x)
	}
	var sum float32
	for k, x := range z {
		e := float32(math.Exp(float64(x - m)))
		z[k] = e
		sum += e
	}
	inv := 1 / sum
	for k := range z {
		z[k] *= inv
	}
}

// softmax turns logits into probabilities in place.
func softmax(z []float64) {
	if len(z) == 0 {
		return
	}
	m := z[0]
	for _, x := range z[1:] {
		m = max(m, x)
	}
	var sum float64
	for k, x := range z {
		e := math.Exp(x - m)
		z[k] = e
		sum += e
	}
	for k := range z {
		z[k] /= sum
	}
}
